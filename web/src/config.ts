/** Base URL of the REST API and of Socket.IO (they share the port). */
export const API_BASE_URL: string = (import.meta.env.VITE_API_BASE_URL || "http://localhost:3001").replace(/\/+$/, "");
