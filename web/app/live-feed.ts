/**
 * The live map's feed: server-sent events where the server can stream them, else the map's own data polled.
 * On Lambda, API Gateway returns a response only once it is complete, so `/api/live` answers 503 there and
 * the stream never opens; the map then asks its data route (`/map?_data=routes/map`) every two seconds and
 * receives each answer as a `snapshot`, the event the stream sends on connect (decision 032).
 * It has the part of EventSource's interface the map uses, so the map does not know which it has.
 */

export const POLL_INTERVAL_MS = 2000;

type Listener = (event: Event) => void;

export class LiveSource {
  private readonly listeners = new Map<string, Set<Listener>>();
  private stream: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** "stream" until the stream fails before it ever opened, then "poll". */
  mode: "stream" | "poll" = "stream";

  constructor(
    streamUrl: string,
    private readonly pollUrl: string,
  ) {
    const stream = new EventSource(streamUrl);
    this.stream = stream;
    let opened = false;
    stream.addEventListener("open", (event) => {
      opened = true;
      this.emit("open", event);
    });
    stream.addEventListener("error", (event) => {
      if (opened) return this.emit("error", event);
      // Never opened: the server cannot stream here (or refused): poll instead of reconnecting for ever.
      stream.close();
      this.stream = undefined;
      this.mode = "poll";
      void this.poll();
    });
    for (const name of ["snapshot", "update"]) {
      stream.addEventListener(name, (event) => this.emit(name, event));
    }
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private emit(type: string, event: Event): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    try {
      const response = await fetch(this.pollUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`${response.status}`);
      const { couriers } = (await response.json()) as { couriers: unknown[] };
      if (this.closed) return;
      this.emit("open", new Event("open"));
      this.emit(
        "snapshot",
        new MessageEvent("snapshot", { data: JSON.stringify({ couriers, at: Date.now() }) }),
      );
    } catch {
      this.emit("error", new Event("error"));
    }
    if (!this.closed) this.timer = setTimeout(() => void this.poll(), POLL_INTERVAL_MS);
  }
}
