# PacketPulse functions image: each function of docker-compose.yml under serverless offline, the one-shot
# migrations (cli/migrate.ts), Mercury's server (web/server/cli.ts; `npm run build` builds the web app), and Mars. Runs as the image's unprivileged `node` user.
FROM node:20.19.5-bookworm-slim

# better-sqlite3 compiles from source when no prebuilt binary matches; curl serves the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /app /data \
 && chown node:node /app /data

WORKDIR /app
USER node
COPY --chown=node:node package.json package-lock.json ./
# `npm install`, not `npm ci`: chdb lists native libraries for other platforms as optional dependencies that
# the registry does not serve, so they cannot be in the lockfile, and `npm ci` refuses such a lockfile
# (.ci/run does the same). Locked versions are kept.
RUN npm install --no-audit --no-fund
COPY --chown=node:node . .
RUN npm run build

ENV PACKETPULSE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 3000 8000 8080
CMD ["npx", "serverless", "offline", "--host", "0.0.0.0"]
