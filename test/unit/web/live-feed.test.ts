import { afterEach, describe, expect, it, vi } from "vitest";
import { LiveSource, POLL_INTERVAL_MS } from "../../../web/app/live-feed.ts";

/**
 * The live map's feed falls back to polling its data route when the stream cannot open (Mercury on Lambda:
 * /api/live answers 503), and stays on the stream where it opens. EventSource is the browser's; here a
 * stand-in that opens or fails as the server would; fetch answers as the map's data route does.
 */

class StandInEventSource {
  static instances: StandInEventSource[] = [];
  static opens = true;
  closed = false;
  private readonly listeners = new Map<string, ((event: Event) => void)[]>();
  constructor(readonly url: string) {
    StandInEventSource.instances.push(this);
    setTimeout(() => this.fire(StandInEventSource.opens ? "open" : "error", new Event("x")), 0);
  }
  addEventListener(type: string, listener: (event: Event) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  fire(type: string, event: Event) {
    if (!this.closed) for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  close() {
    this.closed = true;
  }
}

const courier = (lat: number) => ({ sessionId: "s-1", lat, lon: 23.7, status: "in_transit", trail: [] });

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  StandInEventSource.instances = [];
});

describe("the live map's feed", () => {
  it("polls the map's data route every two seconds when the stream cannot open", async () => {
    // Prepare
    vi.useFakeTimers();
    StandInEventSource.opens = false;
    vi.stubGlobal("EventSource", StandInEventSource);
    const answers = [courier(37.9), courier(37.95)];
    const asked: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      asked.push(url);
      return Response.json({ couriers: [answers[Math.min(asked.length, answers.length) - 1]] });
    });
    const snapshots: number[] = [];
    const source = new LiveSource("/api/live", "/map?_data=routes%2Fmap");
    source.addEventListener("snapshot", (event) => {
      snapshots.push(JSON.parse((event as MessageEvent).data).couriers[0].lat);
    });

    // Act
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    source.close();
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 3);

    // Assess
    expect(source.mode).toBe("poll");
    expect(StandInEventSource.instances[0]!.closed).toBe(true);
    expect(asked).toEqual(["/map?_data=routes%2Fmap", "/map?_data=routes%2Fmap"]);
    expect(snapshots).toEqual([37.9, 37.95]);
  });

  it("stays on the stream where it opens, and never polls", async () => {
    // Prepare
    vi.useFakeTimers();
    StandInEventSource.opens = true;
    vi.stubGlobal("EventSource", StandInEventSource);
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    const updates: string[] = [];
    const source = new LiveSource("/api/live", "/map?_data=routes%2Fmap");
    source.addEventListener("update", (event) => updates.push((event as MessageEvent).data));

    // Act
    await vi.advanceTimersByTimeAsync(1);
    StandInEventSource.instances[0]!.fire("update", new MessageEvent("update", { data: '{"changed":[]}' }));
    StandInEventSource.instances[0]!.fire("error", new Event("error"));
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 3);
    source.close();

    // Assess
    expect(source.mode).toBe("stream");
    expect(updates).toEqual(['{"changed":[]}']);
    expect(fetch).not.toHaveBeenCalled();
  });
});
