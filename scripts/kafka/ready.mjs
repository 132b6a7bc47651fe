// Used by scripts/kafka.sh: exits 0 when the broker at argv[2] answers a metadata request and lists
// itself as a live broker (so topics can be created and produced to), 1 otherwise. Quiet and quick.
import kafkajs from "kafkajs";

const { Kafka, logLevel } = kafkajs;
const bootstrap = process.argv[2] ?? "127.0.0.1:9092";
const kafka = new Kafka({
  clientId: "packetpulse-kafka-ready",
  brokers: bootstrap.split(","),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 3000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
const timer = setTimeout(() => process.exit(1), 5000);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  process.exitCode = cluster.brokers.length > 0 && cluster.controller !== null ? 0 : 1;
} catch {
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  await admin.disconnect().catch(() => {});
}
