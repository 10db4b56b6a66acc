import { createApi } from "@reduxjs/toolkit/query/react";
import {
  openapiBaseQuery,
  type ApiError,
  type ApproveResponse,
  type AuthResponse,
  type Call,
  type LoginRequest,
  type RegisterRequest,
  type RejectResponse,
  type User,
} from "./client";
import { addRequest, decideOwn, mergeAnswer, mergeUser, removeRequest, type Pending } from "./pending";
import { ownRequestDecided, requestArrived } from "../store/actions";
import type { SocketEvents } from "../socket/socketService";

/** What the endpoints' lifecycles need from the store's extra argument: the tab's socket events. */
interface Extra {
  sockets: SocketEvents;
}

export interface Decision {
  id: number;
  decision: "approve" | "reject";
  reason?: string;
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
        const decided = (decision: "approved" | "rejected") => (p: { contact_id: number }) => {
          if (p.contact_id !== getCacheEntry().data?.id) return;
          updateCachedData((user) => decideOwn(user, decision));
          dispatch(ownRequestDecided(decision));
        };
        const stop = (extra as Extra).sockets.listen({
          "artisan-request:approved": decided("approved"),
          "artisan-request:rejected": decided("rejected"),
        });
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
        const decided = (p: { contact_id: number }) => {
          // Before the first answer there is nothing to update: fetch again once it is in.
          if (!getCacheEntry().data) return void refetch();
          updateCachedData((d) => removeRequest(d, p.contact_id));
        };
        const stop = (extra as Extra).sockets.listen({
          "artisan-request:new": (p) => {
            updateCachedData((d) => addRequest(d, p));
            dispatch(requestArrived(p));
            refetch();
          },
          "artisan-request:approved": decided,
          "artisan-request:rejected": decided,
        });
        await cacheEntryRemoved;
        stop();
      },
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
        } catch (e) {
          const status = (e as { error?: ApiError }).error?.status;
          if (status === 404 || status === 409) {
            remove();
            dispatch(api.util.invalidateTags(["Pending"]));
          }
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
} = api;
