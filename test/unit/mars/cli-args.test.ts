import { describe, expect, it } from "vitest";
import { helpText, readCliArgs } from "#mars/cli-args.ts";

describe("Mars command-line flags", () => {
  it("reads text flags, booleans and their --no- forms", () => {
    // Act
    const args = readCliArgs(
      ["--sessions", "5", "--batch-size=20", "--no-send", "--gps-noise", "false", "--out", "day.ndjson"],
      {},
    );

    // Assess
    expect(args).toEqual({
      help: false,
      options: { sessions: "5", batchSize: "20", send: false, gpsNoise: "false", out: "day.ndjson" },
    });
  });

  it("takes MARS_ variables for flags not given, a flag winning over its variable", () => {
    // Act
    const args = readCliArgs(["--sessions", "5"], {
      MARS_SESSIONS: "9",
      MARS_BATCH_SIZE: "50",
      PATH: "/bin",
    });

    // Assess
    expect(args).toEqual({ help: false, options: { sessions: "5", batchSize: "50" } });
  });

  it("names every unknown flag, argument and MARS_ variable", () => {
    expect(() => readCliArgs(["--sesions", "5"], {})).toThrow(/^Unknown argument: sesions$/);
    expect(() => readCliArgs(["--sesions", "5", "extra", "-x"], { MARS_COLOUR: "red" })).toThrow(
      /^Unknown arguments: sesions, extra, x, colour$/,
    );
  });

  it("gives a text flag followed by another flag an empty value", () => {
    expect(readCliArgs(["--sessions", "--couriers", "3"], {})).toEqual({
      help: false,
      options: { sessions: "", couriers: "3" },
    });
  });

  it("answers --help and -h with the options, each with its type", () => {
    // Act
    const long = readCliArgs(["--sessions", "5", "--help"], {});
    const short = readCliArgs(["-h"], {});

    // Assess
    expect(long).toEqual({ help: true });
    expect(short).toEqual({ help: true });
    const lines = helpText().split("\n");
    expect(lines[0]).toBe("npm run mars -- [options]");
    expect(lines).toContain(
      "      --batch-size       v2 events per frame, frames kept under 32 KB [100]                           [string]",
    );
    expect(lines).toContain(
      "  -h, --help             Show help                                                                   [boolean]",
    );
  });
});
