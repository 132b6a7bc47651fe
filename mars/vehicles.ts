import { VEHICLE_TYPES } from "#shared/events/index.ts";
import type { RoadClass } from "./city.ts";

export { VEHICLE_TYPES };
export type VehicleType = (typeof VEHICLE_TYPES)[number];

/** How a kind of vehicle moves. Speeds in km/h, accelerations in m/s². */
export interface VehicleProfile {
  type: VehicleType;
  /** Never exceeded, whatever the road allows. */
  maxKmh: number;
  /** What the rider keeps to on an empty street whose limit is higher. */
  cruiseKmh: number;
  /** Fraction of the posted limit the rider drives at (above 1: a little over the limit). */
  limitFraction: number;
  accelMps2: number;
  decelMps2: number;
  /** Speed through a sharp turn at a junction. */
  turnKmh: number;
  /** Two-wheelers filter through queues, so congestion slows them less. */
  twoWheeler: boolean;
  /** Road classes it may use (no bicycles or 50 cc scooters on the motorway). */
  roads: readonly RoadClass[];
  /** Longest delivery (pickup to drop-off, straight line) a dispatcher gives this vehicle, metres. */
  maxDeliveryM: number;
}

const ALL_ROADS: readonly RoadClass[] = ["motorway", "trunk", "primary", "secondary", "residential"];
const NO_MOTORWAY: readonly RoadClass[] = ["trunk", "primary", "secondary", "residential"];

export const VEHICLE_PROFILES: Readonly<Record<VehicleType, VehicleProfile>> = {
  bicycle: {
    type: "bicycle",
    maxKmh: 30,
    cruiseKmh: 18,
    limitFraction: 1,
    accelMps2: 0.7,
    decelMps2: 1.5,
    turnKmh: 12,
    twoWheeler: true,
    roads: NO_MOTORWAY,
    maxDeliveryM: 3500,
  },
  scooter: {
    type: "scooter",
    maxKmh: 45,
    cruiseKmh: 40,
    limitFraction: 0.95,
    accelMps2: 1.4,
    decelMps2: 2.5,
    turnKmh: 18,
    twoWheeler: true,
    roads: NO_MOTORWAY,
    maxDeliveryM: 6000,
  },
  motorbike: {
    type: "motorbike",
    maxKmh: 110,
    cruiseKmh: 90,
    limitFraction: 1.05,
    accelMps2: 2.5,
    decelMps2: 3.5,
    turnKmh: 22,
    twoWheeler: true,
    roads: ALL_ROADS,
    maxDeliveryM: 12_000,
  },
  car: {
    type: "car",
    maxKmh: 130,
    cruiseKmh: 100,
    limitFraction: 0.95,
    accelMps2: 2,
    decelMps2: 3,
    turnKmh: 20,
    twoWheeler: false,
    roads: ALL_ROADS,
    maxDeliveryM: 12_000,
  },
  van: {
    type: "van",
    maxKmh: 100,
    cruiseKmh: 80,
    limitFraction: 0.9,
    accelMps2: 1.2,
    decelMps2: 2.5,
    turnKmh: 15,
    twoWheeler: false,
    roads: ALL_ROADS,
    maxDeliveryM: 12_000,
  },
};

/** Share of each vehicle type in a delivery fleet (Athens: mostly motorbikes and scooters). */
export const DEFAULT_VEHICLE_MIX: Readonly<Record<VehicleType, number>> = {
  bicycle: 0.12,
  scooter: 0.3,
  motorbike: 0.43,
  car: 0.1,
  van: 0.05,
};
