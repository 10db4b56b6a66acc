import { Fragment } from "react";
import { breakableEmail } from "./format";

/** An email that wraps after "@" and before the dots when it does not fit. */
export default function Email({ value, className }: { value: string; className?: string }) {
  return (
    <span className={className}>
      {breakableEmail(value).map((p, i) => (typeof p === "string" ? <Fragment key={i}>{p}</Fragment> : <wbr key={i} />))}
    </span>
  );
}
