# syntax=docker/dockerfile:1
#
# One image for every chatmesh process: the six services, the schema registry and the migrations job.
# The entry is the argument: `docker run chatmesh ingest`, `... delivery-gateway`, `... migrate` (the
# Helm chart's `args`). Per-service targets (`--target ingest`) only preset that argument.
#
# What runs is compiled JavaScript (esbuild bundles without keepNames, deploy/images/src/compile.ts),
# not tsx: faster starts and 22-45 MiB less RSS per process (services/delivery-gateway/README.md).
# The bundles resolve schema files, migrations and npm packages inside the tree they were built in,
# so the runtime stage keeps that tree at the same path (/app).
#
# Node 24 LTS on Debian trixie (glibc 2.41). The gateway loads the uWebSockets.js build that fits the
# running Node ABI and glibc (services/delivery-gateway/src/native-uws.ts): on Node 22/24 that is the
# optional @btc-vision/uwebsockets.js 20.57, whose binaries need glibc 2.38, so the base image must be
# trixie (or newer), not bookworm (2.36), where the gateway refuses with CM_ERR_GATEWAY_UWS_UNSUPPORTED.
# A Node 20 base (node:20-bookworm-slim) still works: it loads @trufflesuite/uws-js-unofficial 20.30.
# hadolint is run by `npm test` (deploy/images/src/__tests__/dockerfile-lint.integration.test.ts).

ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so a source change does not reinstall dependencies.
COPY package.json package-lock.json ./
COPY libs libs
COPY services services
COPY deploy deploy
COPY tests tests
COPY load-tests/package.json load-tests/package.json
COPY k8s/package.json k8s/package.json
COPY schemas schemas
COPY scripts scripts
# The root postinstall applies patches/ (patch-package) during the install below.
COPY patches patches
COPY tsconfig.base.json turbo.json ./
# `npm install` as CI does (.ci/run), not `npm ci`: the committed lockfile lacks the entries of some
# optional platform packages (@turbo/*, @unrs/resolver-binding-*), which `npm ci` refuses. The lockfile
# still pins every version that is there.
RUN npm install --no-audit --no-fund \
 && npm run codegen -w @chatmesh/schemas \
 && npm run compile -w @chatmesh/images \
 && npm prune --omit=dev --no-audit --no-fund \
 && find /app -type d -name __tests__ -prune -exec rm -rf {} + \
 && rm -rf /app/tests /app/load-tests /app/scripts /root/.npm

FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX=2: glibc keeps freed memory in one arena per thread (the driver's and libuv's threads); with two,
# a gateway's RSS per idle member connection fell from ~5.0 to ~1.85 KiB (load-tests/README.md, "Density with chat
# memberships"). Override it with the container's env to measure without.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    CHATMESH_MODE=stack \
    CHATMESH_HTTP_HOST=0.0.0.0 \
    CHATMESH_GATEWAY_HOST=0.0.0.0 \
    SCHEMA_REGISTRY_HOST=0.0.0.0
WORKDIR /app
# Owned by root and not writable by the process: the root filesystem can be mounted read-only
# (the chart does), and nothing in the image needs writing except /tmp (an emptyDir in the chart).
COPY --from=build /app /app
# The numeric id lets Kubernetes verify runAsNonRoot; 1000 is the base image's `node` user.
USER 1000:1000
# 8080: ops (/health, /ready, /metrics); 8090: the gateway's WebSocket and HTTP API; 8081: registry.
EXPOSE 8080 8090 8081
# Node is PID 1: every entry installs its own SIGTERM handler (drain, then exit 0), so no init is needed.
# No default CMD: without an entry name the image lists the names and exits 2.
ENTRYPOINT ["node", "/app/deploy/images/dist/chatmesh.mjs"]

FROM runtime AS ingest
CMD ["ingest"]
FROM runtime AS fan-out
CMD ["fan-out"]
FROM runtime AS receipts
CMD ["receipts"]
FROM runtime AS push
CMD ["push"]
FROM runtime AS presence
CMD ["presence"]
FROM runtime AS delivery-gateway
CMD ["delivery-gateway"]
FROM runtime AS schema-registry
CMD ["schema-registry"]
FROM runtime AS migrate
CMD ["migrate"]

# The default target: the image with every entry (the Helm chart's image).
FROM runtime AS chatmesh
