import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ClientOnly } from "../ui.tsx";

/** Sessions started and delivered per period (a day, an hour of the day), as bars side by side. */
export function StartedDeliveredChart({
  data,
  xKey,
  tickFormatter,
  legend = false,
}: {
  data: { sessions_started: number; sessions_completed: number }[];
  xKey: string;
  tickFormatter?: (value: string) => string;
  legend?: boolean;
}) {
  return (
    <ClientOnly>
      {() => (
        <ResponsiveContainer>
          <BarChart data={data}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey={xKey} tickFormatter={tickFormatter} />
            <YAxis allowDecimals={false} />
            <Tooltip />
            {legend ? <Legend /> : null}
            <Bar isAnimationActive={false} dataKey="sessions_started" name="started" fill="#2563eb" />
            <Bar isAnimationActive={false} dataKey="sessions_completed" name="delivered" fill="#10b981" />
          </BarChart>
        </ResponsiveContainer>
      )}
    </ClientOnly>
  );
}
