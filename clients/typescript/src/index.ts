/**
 * A typed client for the CMS API.
 *
 * The types come from `./schema.ts`, generated from the repository's
 * `openapi/openapi.json` by openapi-typescript (`npm run generate`); the calls
 * go through openapi-fetch, so every path, parameter, request body and response
 * is checked by the compiler against the spec.
 */
import createClient, { mergeHeaders } from "openapi-fetch";
import type { Client, ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

type Schemas = components["schemas"];

/** An article as served (with its tags; key-point lists and citations on a single read). */
export type Article = Schemas["Article"];
/** A whole article, to create (`POST /api/v1/articles`) or replace (`PUT`). */
export type ArticleInput = Schemas["ArticleInput"];
/** A partial update of an article's own fields (`PATCH`). */
export type ArticlePatch = Schemas["ArticlePatch"];
/** One page of an article list, with its `next_cursor`. */
export type ArticlePage = Schemas["ArticlePage"];
/** Where an article is in its life. */
export type Status = Schemas["Status"];
/** A source of an article; `[n]` in the body refers to citation `n`. */
export type Citation = Schemas["Citation"];
/** A citation to write. */
export type CitationInput = Schemas["CitationInput"];
/** A key-point list of an article. */
export type KeyPointList = Schemas["KeyPointList"];
/** A tag as stored and served. */
export type Tag = Schemas["Tag"];
/** A tag as an article lists it. */
export type TagRef = Schemas["TagRef"];
/** One page of the tag list. */
export type TagPage = Schemas["TagPage"];
/** A tag to create. */
export type NewTag = Schemas["NewTag"];
/** An API token's public fields (never its secret). */
export type Token = Schemas["Token"];
/** An RFC 9457 problem details object: what every error response carries. */
export type Problem = Schemas["Problem"];
/** One invalid field of a request (in `Problem.errors`). */
export type FieldError = Schemas["FieldError"];

/** The client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, ... on the spec's paths. */
export type CmsClient = Client<paths>;

export interface CmsClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Where the API is served, e.g. `https://cms.example.com` (no `/api/v1`). */
  baseUrl: string;
  /** An API token; sent as `Authorization: Bearer <token>` on every request. */
  token?: string | undefined;
}

/**
 * Creates a client for the CMS at `baseUrl`. With a `token`, every request
 * carries `Authorization: Bearer <token>` (a request may still set its own).
 * The other options are openapi-fetch's (`headers`, `fetch`, ...).
 *
 * Each call resolves to `{ data, error, response }`: `data` on a 2xx answer,
 * otherwise `error` (a {@link Problem} for the API's own errors). Network
 * failures reject.
 */
export function createCmsClient(options: CmsClientOptions): CmsClient {
  const { token, ...rest } = options;
  if (!token) return createClient<paths>(rest);
  return createClient<paths>({
    ...rest,
    headers: mergeHeaders(rest.headers, { Authorization: `Bearer ${token}` }),
  });
}

/**
 * Whether a call's `error` is the API's problem details object (and not, say,
 * the text of a proxy's error page).
 */
export function isProblem(error: unknown): error is Problem {
  if (typeof error !== "object" || error === null) return false;
  const e = error as Record<string, unknown>;
  return typeof e["type"] === "string" && typeof e["title"] === "string" && typeof e["status"] === "number";
}

/**
 * A one-line description of a failed call for logs and error messages:
 * `422 /problems/validation-error: 1 field is not valid (title: must not be empty)`.
 */
export function describeError(error: unknown, response: Response): string {
  if (isProblem(error)) {
    const fields = (error.errors ?? []).map((f) => `${f.field}: ${f.message}`).join("; ");
    return `${response.status} ${error.type}: ${error.detail}${fields ? ` (${fields})` : ""}`;
  }
  const text = typeof error === "string" ? error : JSON.stringify(error);
  return `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 300)}` : ""}`;
}
