import { useAppSelector } from "../store";
import { useMeQuery, usePendingQuery } from "./api";
import type { User } from "./client";
import type { Pending } from "./pending";

/** The signed-in user (GET /api/users/me, kept fresh by the socket); nothing is fetched once logged out. */
export function useMe(): User | undefined {
  const token = useAppSelector((s) => s.auth.token);
  return useMeQuery(undefined, { skip: !token }).data;
}

const NONE: Pending = { count: 0, requests: [], decided: [] };

/** The PDG's pending requests; fetched only for a PDG. */
export function usePending(): Pending {
  const user = useMe();
  return usePendingQuery(undefined, { skip: !user?.is_pdg }).data ?? NONE;
}
