# The node stand-in plus this machine's extra CA certificates (the build context), for the build
# and deps stages only (NODE_BUILD_IMAGE): where HTTPS goes through an intercepting proxy, `npm ci`
# fails with SELF_SIGNED_CERT_IN_CHAIN unless Node trusts the proxy's CA. Never a final stage's
# base: the images live360 ships must not carry a build machine's CAs.
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
COPY . /usr/local/share/ca-certificates/
RUN update-ca-certificates
# Node does not read the system store; npm runs on Node.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
