/**
 * The rows of the silver tables as Jupiter builds them. Times are ISO strings (toISOString's one fixed
 * width, so they compare as times).
 */

export type Iso = string;
export type StatusTuple = { at: Iso; rank: number; status: string };
export type PositionTuple = { at: Iso; lat: number; lon: number };

export interface SessionPositionRow {
  event_id: string;
  session_id: string;
  device_id: string;
  vehicle_id: string;
  order_id: string;
  source: "location_ping" | "v1_message";
  occurred_at: Iso;
  received_at: Iso;
  lat: number;
  lon: number;
  speed_kmh: number | null;
  heading_deg: number | null;
  accuracy_m: number | null;
  v1_status: string | null;
  log_partition: number;
  log_offset: number;
}

export interface SessionRow {
  session_id: string;
  device_id: string;
  vehicle_id: string;
  order_id: string;
  vehicle_type: string | null;
  pickup_lat: number | null;
  pickup_lon: number | null;
  dropoff_lat: number | null;
  dropoff_lon: number | null;
  started_at: Iso | null;
  promised_at: Iso | null;
  ended_at: Iso | null;
  first_event_at: Iso;
  last_event_at: Iso;
  last_received_at: Iso;
  latest_status: StatusTuple;
  last_position: PositionTuple;
}

export interface OrderRow {
  order_id: string;
  session_id: string;
  device_id: string;
  vehicle_id: string;
  pickup_lat: number | null;
  pickup_lon: number | null;
  dropoff_lat: number | null;
  dropoff_lon: number | null;
  promised_at: Iso | null;
  created_at: Iso | null;
  picked_up_at: Iso | null;
  delivered_at: Iso | null;
  failed_at: Iso | null;
  cancelled_at: Iso | null;
  end_reason: string | null;
  first_event_at: Iso;
  last_event_at: Iso;
  latest_status: StatusTuple;
}

export interface VehicleRow {
  vehicle_id: string;
  vehicle_type: string | null;
  first_seen_at: Iso;
  last_seen_at: Iso;
  last_position: PositionTuple;
  last_session: { at: Iso; session_id: string; device_id: string };
}

export interface SilverRows {
  session_positions: SessionPositionRow[];
  sessions: SessionRow[];
  orders: OrderRow[];
  vehicles: VehicleRow[];
}
