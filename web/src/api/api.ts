import { createApi } from "@reduxjs/toolkit/query/react";
import {
  openapiBaseQuery,
  type ApiError,
  type ApproveResponse,
  type ArtisanRequestList,
  type RequestFilter,
  type AuthResponse,
  type Call,
  type LoginRequest,
  type RegisterRequest,
  type RejectResponse,
  type User,
} from "./client";
import { addRequest, decideOwn, mergeAnswer, mergeUser, removeRequest, type Pending } from "./pending";
import { ownRequestDecided, requestArrived, requestDecided, rightsChanged, type DecidedEvent } from "../store/actions";
import type { EventHandlers } from "../socket/socketService";
import type { SocketEvents } from "../socket/socketService";

/** What the endpoints' lifecycles need from the store's extra argument: the tab's socket events. */
interface Extra {
  sockets: SocketEvents;
}

/** A list of the Demandes page: which requests and the search typed. */
export interface RequestQuery {
  status: RequestFilter;
  q: string;
}

/** Requests per page of the Demandes page (and of the bell). */
export const PAGE_SIZE = 50;

export interface Decision {
  id: number;
  decision: "approve" | "reject";
  reason?: string;
  /** Who it is about (for the messages). */
  name?: string;
}

/**
 * The server state: the user (GET /api/users/me) and, for a PDG, the pending requests (count + list).
 * Socket events update the cache at once (onCacheEntryAdded + updateCachedData); the tags are
 * invalidated on every socket (re)connection, the server keeping no missed events.
 */
export const api = createApi({
  reducerPath: "api",
  baseQuery: openapiBaseQuery,
  tagTypes: ["Me", "Pending"],
  endpoints: (build) => ({
    login: build.mutation<AuthResponse, LoginRequest>({
      query: (body) => (c) => c.POST("/api/users/auth/login", { body }),
    }),
    register: build.mutation<AuthResponse, RegisterRequest>({
      query: (body) => (c) => c.POST("/api/users/auth/register", { body }),
    }),
    /** Revokes the session's token on the server (every node; its sockets are disconnected). */
    logout: build.mutation<null, void>({
      query: () => (c) => c.POST("/api/users/auth/logout"),
    }),

    me: build.query<User, void>({
      query: () => (c) => c.GET("/api/users/me"),
      providesTags: ["Me"],
      merge: (current, answer) => mergeUser(current, answer),
      async onCacheEntryAdded(_arg, { extra, getCacheEntry, updateCachedData, dispatch, cacheEntryRemoved }) {
        const decided = (decision: "approved" | "rejected") => (p: DecidedEvent) => {
          if (p.contact_id !== getCacheEntry().data?.id) return;
          updateCachedData((user) => decideOwn(user, decision, p));
          dispatch(ownRequestDecided(decision));
        };
        const handlers = {
          "artisan-request:approved": decided("approved"),
          "artisan-request:rejected": decided("rejected"),
          // Made or unmade PDG: shown at once, then fetched again (the bell, the list, the count).
          "user:rights-changed": (p: { is_pdg?: boolean }) => {
            if (typeof p?.is_pdg === "boolean") updateCachedData((u) => void (u.is_pdg = p.is_pdg!));
            dispatch(rightsChanged(p ?? {}));
          },
        };
        const stop = (extra as Extra).sockets.listen(handlers as EventHandlers);
        await cacheEntryRemoved;
        stop();
      },
    }),

    pending: build.query<Pending, void>({
      async queryFn(_arg, _api, _extra, baseQuery) {
        const run = <R>(call: Call<R>) => baseQuery(call) as Promise<{ data: R; error?: undefined } | { error: ApiError; data?: undefined }>;
        const [count, list] = await Promise.all([
          run((c) => c.GET("/api/notifications/artisan-requests/count")),
          run((c) => c.GET("/api/notifications/artisan-requests")),
        ]);
        if (count.error) return { error: count.error };
        if (list.error) return { error: list.error };
        return { data: { count: count.data.count, requests: list.data.requests, decided: [] } };
      },
      providesTags: ["Pending"],
      merge: mergeAnswer,
      async onCacheEntryAdded(_arg, { extra, getCacheEntry, updateCachedData, dispatch, cacheEntryRemoved }) {
        const refetch = () => dispatch(api.util.invalidateTags(["Pending"]));
        const decided = (status: "approved" | "rejected") => (p: DecidedEvent) => {
          // Told first, while the request is still in the cache: the listeners keep it on screen if another PDG decided it.
          dispatch(requestDecided({ status, event: p }));
          // Before the first answer there is nothing to update: fetch again once it is in.
          if (!getCacheEntry().data) return void refetch();
          updateCachedData((d) => removeRequest(d, p.contact_id));
          // the next pending request, beyond the listed page, comes in
          refetch();
        };
        const stop = (extra as Extra).sockets.listen({
          "artisan-request:new": (p) => {
            updateCachedData((d) => addRequest(d, p));
            dispatch(requestArrived(p));
            refetch();
          },
          "artisan-request:approved": decided("approved"),
          "artisan-request:rejected": decided("rejected"),
        });
        await cacheEntryRemoved;
        stop();
      },
    }),

    /**
     * The Demandes page: a filter (pending, approved, rejected, all) and a search, a page at a time
     * ("Voir plus" sends the last page's next_cursor). Fetched again, every loaded page, whenever the
     * pending requests change (tag Pending: a decision, a new request, a reconnection).
     */
    requestPages: build.infiniteQuery<ArtisanRequestList, RequestQuery, string | null>({
      infiniteQueryOptions: {
        initialPageParam: null,
        getNextPageParam: (last) => last.next_cursor ?? undefined,
      },
      query: ({ queryArg: { status, q }, pageParam }) => (c) =>
        c.GET("/api/notifications/artisan-requests", {
          params: { query: { status, limit: PAGE_SIZE, ...(q.trim() ? { q: q.trim() } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      providesTags: ["Pending"],
    }),

    /** Approves or rejects; on success, and on 404/409 (someone else decided first), it leaves the list. */
    decide: build.mutation<ApproveResponse | RejectResponse, Decision>({
      query: ({ id, decision, reason }) => {
        const path = { params: { path: { id } } };
        if (decision === "approve") return (c) => c.POST("/api/notifications/artisan-requests/{id}/approve", path);
        const r = reason?.trim();
        return (c) => c.POST("/api/notifications/artisan-requests/{id}/reject", { ...path, body: r ? { reason: r } : {} });
      },
      async onQueryStarted({ id }, { dispatch, queryFulfilled }) {
        const remove = () => dispatch(api.util.updateQueryData("pending", undefined, (d) => removeRequest(d, id)));
        try {
          await queryFulfilled;
          remove();
          // the next pending request (beyond the listed page) comes in; the history shows the decision
          dispatch(api.util.invalidateTags(["Pending"]));
        } catch (e) {
          const status = (e as { error?: ApiError }).error?.status;
          if (status === 404 || status === 409) {
            remove();
            dispatch(api.util.invalidateTags(["Pending"]));
          }
          // no longer a PDG: the rights are fetched again (the bell goes)
          if (status === 403) dispatch(api.util.invalidateTags(["Me", "Pending"]));
        }
      },
    }),
  }),
});

export const {
  useLoginMutation,
  useRegisterMutation,
  useLogoutMutation,
  useMeQuery,
  usePendingQuery,
  useDecideMutation,
  useRequestPagesInfiniteQuery,
} = api;
