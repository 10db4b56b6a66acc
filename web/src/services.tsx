import { createContext, useContext, type ReactNode } from "react";
import type { Api } from "./api/client";
import type { Realtime } from "./realtime/realtime";

export interface Services {
  api: Api;
  realtime: Realtime;
}

const ServicesContext = createContext<Services | null>(null);

export function ServicesProvider({ services, children }: { services: Services; children: ReactNode }) {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error("ServicesProvider missing");
  return s;
}
