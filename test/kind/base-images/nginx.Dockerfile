# Offline stand-in for the official nginx image, as workloads/edge/Dockerfile uses it: Debian's
# nginx with njs (libnginx-mod-http-js, in /usr/lib/nginx/modules where the edge's generated
# config loads it from), an `nginx` user and group with uid/gid 101, logs to the container's
# stdout/stderr and SIGQUIT (graceful stop) as the stop signal, like the official image.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# policy-rc.d keeps the package's scripts from starting nginx inside the build.
# hadolint DL3008: apt versions are not pinned because Debian drops superseded security builds
# from its mirrors, which would break every rebuild.
# hadolint ignore=DL3008
RUN groupadd --system --gid 101 nginx \
 && useradd --system --gid nginx --no-create-home --home /nonexistent --comment "nginx user" --shell /bin/false --uid 101 nginx \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d \
 && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends nginx libnginx-mod-http-js \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
