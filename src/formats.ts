/** TypeBox's string formats as this API checks them: registered once, by buildApp, before any schema compiles. */
import { Format } from 'typebox/format';

const isRfc3339 = Format.Get('date-time')!;

/**
 * `date-time` (bodies and filters alike): RFC 3339 as a JavaScript Date and PostgreSQL both take it.
 * TypeBox's own check also passes a leap second (`23:59:60Z`, which Date cannot hold: it was a 500)
 * and an RFC 9557 suffix (`[Europe/Kyiv]`); those are a 400. TypeBox's format registry is global:
 * registering again replaces the check with the same one.
 */
export function registerFormats() {
  Format.Set('date-time', (value: string) => !value.includes('[') && isRfc3339(value) && Number.isFinite(Date.parse(value)));
}
