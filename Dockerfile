# PacketPulse functions image: serverless offline (Venus) and Mars.
FROM node:20.19.5-bookworm-slim

# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

ENV PACKETPULSE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000 8080
CMD ["npx", "serverless", "offline", "--host", "0.0.0.0"]
