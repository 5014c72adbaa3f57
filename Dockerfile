# syntax=docker/dockerfile:1
# Phantom: API and worker in one image (`serve` by default; `worker` and `migrate` as commands).
# Node 24 (the current LTS) by default; Node 20.19+ and 22 are supported too (package.json engines).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
# python3/make/g++ only in case a native dependency has no prebuilt binary for this platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schema ./schema
COPY src ./src
COPY web ./web
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
# git: the local build executor clones app repositories (prefer the Kubernetes executor in production).
# tini: signals reach node, zombies of build commands are reaped.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=4000 \
    PHANTOM_DATA_DIR=/var/lib/phantom
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/web/dist ./web/dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/schema ./schema
RUN mkdir -p /var/lib/phantom /kube && chown node:node /var/lib/phantom /kube
# The image's `node` user (uid 1000); deploy/ runs it with runAsNonRoot and a read-only root.
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli.js", "serve"]
