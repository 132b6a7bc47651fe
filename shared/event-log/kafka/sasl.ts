import type { SASLOptions } from "kafkajs";
import type { KafkaConfig } from "#shared/config/index.ts";
import { EventLogError } from "#shared/errors.ts";

/**
 * kafkajs's SASL options for the configured authentication. MSK's IAM access control is SASL/OAUTHBEARER
 * with a token that aws-msk-iam-sasl-signer-js signs with the process's AWS credentials (the function's
 * role on Lambda); kafkajs asks for a new one when it reconnects
 * (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
 */
export function kafkaSaslOptions(sasl: KafkaConfig["sasl"]): SASLOptions | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === "aws-msk-iam") {
    const { region } = sasl;
    return {
      mechanism: "oauthbearer",
      oauthBearerProvider: async () => {
        const { generateAuthToken } = await import("aws-msk-iam-sasl-signer-js");
        const { token } = await generateAuthToken({ region });
        return { value: token };
      },
    };
  }
  if ("secretParameter" in sasl) {
    throw new EventLogError(
      `Kafka SASL secret ${sasl.secretParameter} was not read: open the Kafka event log with openEventLog()`,
    );
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}
