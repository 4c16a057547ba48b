// The key the test stack's functions encrypt calendar credentials with.
export { LOCAL_CALENDAR_CREDENTIALS_KEY as CALENDAR_KEY } from "../../../scripts/lib/keys.ts";
