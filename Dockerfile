# The engine image for docker-compose.yml: Node 20 on Debian 12, the project and its
# dependencies; Redis, PostgreSQL and MinIO run as their own services.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The driver patches are applied by the install (postinstall: patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
CMD ["npm", "run", "engine"]
