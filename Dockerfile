# syntax=docker/dockerfile:1
# The same app `npm install && npm start` runs: production dependencies, the PGlite template database
# and the server bundle made at build time (package.json's postinstall steps), started by
# scripts/start.mjs with node as PID 1 so SIGTERM reaches the server's clean shutdown.
#   docker build -t evident .
#   docker run -p 4000:4000 -v evident-data:/data evident
ARG NODE_IMAGE=node:26-bookworm-slim

# Production dependencies only. Install scripts stay off (as npm's allowScripts keeps them off in a
# checkout); the native addons come prebuilt from the registry.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Everything, to make the template database, the server bundle and the web app (esbuild and vite are dev dependencies).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY migrations ./migrations
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN node src/infra/read-db/pglite-template.ts && node scripts/server-bundle.mjs && node scripts/web-build.mjs --force

FROM ${NODE_IMAGE} AS runtime
# MALLOC_MMAP_THRESHOLD_ as in package.json's start script (glibc's allocator hands freed memory
# back; docs/operations.md, "Memory").
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=4000 \
    MALLOC_MMAP_THRESHOLD_=32768
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The bundle and template, with the sources and lock file they were made from (same times, so the
# launcher finds the bundle fresh and never needs esbuild here).
COPY --from=build /app/node_modules/.cache ./node_modules/.cache
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/src ./src
# The web app's sources with their build (its stamp matches them, so start never tries to rebuild).
COPY --from=build /app/web ./web
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "scripts/start.mjs"]
