import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError } from "#shared/errors.ts";

/**
 * Secrets read at start-up from AWS Systems Manager Parameter Store (SecureString parameters), so deployed
 * functions carry a parameter's name in their environment, never its value. A Secrets Manager secret is
 * read the same way through its Parameter Store reference, `/aws/reference/secretsmanager/<secret id>`
 * (docs/deploy.md); MSK's SCRAM secrets are such secrets. Values are kept for the container's life.
 */

export interface ParameterSource {
  region: string;
  /** Another endpoint (a local emulator); AWS's when unset. */
  endpoint?: string;
}

const cache = new Map<string, Promise<string>>();

const SECRETS_MANAGER_REFERENCE = "/aws/reference/secretsmanager/";
/** A secret's ARN: its name, then the 6 characters Secrets Manager appends to make the ARN unique. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/;

/**
 * The Parameter Store name to ask for: a Secrets Manager reference names the secret by its name, so a
 * reference given with the secret's ARN (as serverless.yml has it) is turned into one with its name.
 */
export function parameterName(name: string): string {
  if (!name.startsWith(SECRETS_MANAGER_REFERENCE)) return name;
  const secret = name.slice(SECRETS_MANAGER_REFERENCE.length);
  const arn = SECRET_ARN.exec(secret);
  return arn ? `${SECRETS_MANAGER_REFERENCE}${arn[1]}` : name;
}

export function readParameter(name: string, source: ParameterSource): Promise<string> {
  const key = `${source.endpoint ?? ""}|${source.region}|${name}`;
  let value = cache.get(key);
  if (!value) {
    value = fetchParameter(name, source);
    cache.set(key, value);
    // A failure is not kept: the next cold start or retry asks again.
    value.catch(() => cache.delete(key));
  }
  return value;
}

async function fetchParameter(name: string, source: ParameterSource): Promise<string> {
  const client = new SSMClient({ region: source.region, endpoint: source.endpoint });
  try {
    const { Parameter } = await client.send(
      new GetParameterCommand({ Name: parameterName(name), WithDecryption: true }),
    );
    if (!Parameter?.Value) throw new ConfigError(`Parameter ${name} has no value`);
    return Parameter.Value;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `Cannot read parameter ${name} from AWS Systems Manager in ${source.region}: ${(error as Error).message} (check that it exists and that the function's role may ssm:GetParameter and kms:Decrypt it)`,
      { cause: error },
    );
  } finally {
    client.destroy();
  }
}

/** A SCRAM secret as MSK stores it: a JSON object with `username` and `password`. */
export async function readScramSecret(
  name: string,
  source: ParameterSource,
): Promise<{ username: string; password: string }> {
  const text = await readParameter(name, source);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string" || !username || !password) {
    throw new ConfigError(
      `Parameter ${name} must hold a JSON object with "username" and "password" (MSK's SCRAM secret format)`,
    );
  }
  return { username, password };
}
