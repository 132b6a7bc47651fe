import type { LogLevel } from "#shared/config/index.ts";
import { writeJsonLine } from "./lambda.ts";
import { isLevelEnabled, logSettings } from "./settings.ts";
import { terminalLine, writeTerminalLine } from "./terminal.ts";
import type { LogAttributes, Logger } from "./types.ts";

/**
 * The logger of one component. Every component follows LOG_LEVEL; lines below it are dropped before they
 * are built. Some parts word their lines with their own name already (`venus: ...`, `event log: ...`, as
 * their tests read them): such a message is not labelled twice, and in JSON the name is left out of it.
 */
export function logger(component: string): Logger {
  return componentLogger(component, undefined);
}

function componentLogger(component: string, scope: string | undefined): Logger {
  const label = scope === undefined ? component : `${component} ${scope}`;
  const ownNames = [label, scope ?? component, component.replaceAll("-", " ")].map((name) => `${name}: `);
  const write = (level: LogLevel, message: string, attributes?: LogAttributes) => {
    if (!isLevelEnabled(level)) return;
    const own = ownNames.find((name) => message.startsWith(name));
    const text = own === undefined ? message : message.slice(own.length);
    if (logSettings().output === "json") {
      writeJsonLine(level, scope === undefined ? { component } : { component, scope }, text, attributes);
    } else {
      writeTerminalLine(level, terminalLine(label, text, attributes));
    }
  };
  return {
    component,
    debug: (message, attributes) => write("debug", message, attributes),
    info: (message, attributes) => write("info", message, attributes),
    warn: (message, attributes) => write("warn", message, attributes),
    error: (message, attributes) => write("error", message, attributes),
    child: (childScope) =>
      componentLogger(component, scope === undefined ? childScope : `${scope} ${childScope}`),
  };
}

/**
 * `log`, unless a caller hands over a function for every line (as tests do, to read what a part says): then
 * each message goes to it as it is, whatever its level.
 */
export function loggerOr(say: ((line: string) => void) | undefined, log: Logger): Logger {
  if (say === undefined) return log;
  const toSay = (message: string) => say(message);
  return {
    component: log.component,
    debug: toSay,
    info: toSay,
    warn: toSay,
    error: toSay,
    child: () => loggerOr(say, log),
  };
}
