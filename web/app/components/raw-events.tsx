import { useFetcher } from "@remix-run/react";
import { useEffect, useState } from "react";
import type { BronzePage } from "../../server/bronze.ts";
import { fmt, LocalTime } from "../ui.tsx";

/**
 * The session's raw events as bronze stores them (payload byte for byte, v1's extra fields included), oldest
 * first and newest last, a page at a time. Loaded after the page (bronze is read from data files).
 */
export function RawEvents(props: { sessionId: string; from: string; to: string | null }) {
  const fetcher = useFetcher<BronzePage | { error: string }>();
  const [page, setPage] = useState(1);
  const { load } = fetcher;
  const { sessionId, from, to } = props;
  const url = `/api/sessions/${sessionId}/events?${new URLSearchParams({ page: String(page), from, to: to ?? "" })}`;
  useEffect(() => load(url), [load, url]);
  const answer = fetcher.data;

  return (
    <section className="card" data-testid="raw-events">
      <h2>Raw events from bronze</h2>
      {!answer ? (
        <p className="empty">Reading bronze…</p>
      ) : "error" in answer ? (
        <p className="empty" data-testid="raw-events-error">
          {answer.error}
        </p>
      ) : answer.state !== "events" ? (
        <div className="empty" data-testid="raw-events-empty">
          <p>{answer.message}</p>
          <button type="button" onClick={() => load(url)}>
            Read again
          </button>
        </div>
      ) : (
        <>
          <p className="kpi-trend" data-testid="raw-events-total">
            {fmt.int(answer.total)} events in {answer.table} (snapshot {answer.snapshotId}), oldest first
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>event time</th>
                  <th>type</th>
                  <th>v</th>
                  <th>topic-partition@offset</th>
                  <th>payload as stored</th>
                </tr>
              </thead>
              <tbody>
                {answer.events.map((event, i) => (
                  <tr key={`${event.topic}-${event.partition}-${event.offset}`} data-testid="raw-event">
                    <td>{(answer.page - 1) * answer.pageSize + i + 1}</td>
                    <td>
                      <LocalTime iso={event.eventTime} />
                    </td>
                    <td>{event.eventType}</td>
                    <td>{event.schemaVersion ?? "—"}</td>
                    <td className="mono">
                      {event.topic}-{event.partition}@{event.offset}
                    </td>
                    <td>
                      <pre
                        className="mono"
                        style={{ whiteSpace: "pre-wrap", wordBreak: "break-all", margin: 0, maxWidth: 640 }}
                        data-testid="raw-event-payload"
                      >
                        {event.payload}
                      </pre>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            {answer.page > 1 ? (
              <button type="button" onClick={() => setPage(answer.page - 1)}>
                ← older
              </button>
            ) : null}
            <span data-testid="raw-events-page">
              page {answer.page} of {answer.pages}
            </span>
            {answer.page < answer.pages ? (
              <button type="button" onClick={() => setPage(answer.page + 1)}>
                newer →
              </button>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}
