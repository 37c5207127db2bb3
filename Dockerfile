# The engine image for docker-compose.yml: Node 24 (LTS) on Debian 12, the project and its
# dependencies; Redis, PostgreSQL and MinIO run as their own services.
# The CMD is the exec form running node itself (bin/strata.js loads the TypeScript CLI in
# the same process): `docker stop` sends SIGTERM straight to the engine, which stops its
# loops and closes its connections, with no npm or shell in between to swallow the signal.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The driver patches are applied by the install (postinstall: patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
STOPSIGNAL SIGTERM
CMD ["node", "bin/strata.js", "engine"]
