# syntax=docker/dockerfile:1
# The manager as a container: compiled once in a build stage, run by `node dist/server.js` as a non-root
# user. Build:  docker build --build-arg SM_BUILD_COMMIT=$(git rev-parse HEAD) -t streammanager .

# Build stage: every dependency (TypeScript), then the compiled build in dist/.
FROM node:20-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG SM_BUILD_COMMIT=unknown
RUN SM_BUILD_COMMIT="$SM_BUILD_COMMIT" npm run build

# Runtime dependencies only; the tool chain is there in case better-sqlite3 has no prebuilt binary.
FROM node:20-slim AS runtime-deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    SM_SERVER_DATADIR=/data \
    SM_SERVER_LOGFORMAT=json
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY sql ./sql
COPY launchconfigs ./launchconfigs
COPY scalingpolicies ./scalingpolicies
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 5080
# Liveness only (GET /), never /ready: a database outage must not restart managers that keep brokering
# from their in-memory view.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SM_SERVER_PORT||5080)+'/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (src/server.ts: stop taking requests, finish, close the store).
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "dist/server.js"]
