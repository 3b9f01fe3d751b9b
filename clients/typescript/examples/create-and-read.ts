// Creates an article with a citation and tags, reads it back by its slug, and
// prints its title and tag slugs.
//
//   CMS_URL=http://127.0.0.1:8080 CMS_TOKEN=cms_... node dist-examples/create-and-read.js
//
// The token needs `content:write` (creating) and `content:read` (reading the
// new article, a draft). Exits non-zero on any error.
import { createCmsClient, describeError, type ArticleInput } from "@cms/client";

function fail(message: string): never {
  console.error(`create-and-read: ${message}`);
  process.exit(1);
}

const baseUrl = process.env["CMS_URL"];
const token = process.env["CMS_TOKEN"];
if (!baseUrl || !token) fail("set CMS_URL (e.g. http://127.0.0.1:8080) and CMS_TOKEN");

const cms = createCmsClient({ baseUrl, token });

// A title of its own on every run: the slug is derived from it and must be new.
const input: ArticleInput = {
  title: `Mongolia looks to South Korea ${Date.now()}`,
  standfirst: "Ulaanbaatar seeks partners beyond its two neighbours.",
  body: "Seoul's ambassador sees culture as the ground for trade [1].",
  citations: [{ number: 1, title: "Korea Herald", publisher: "Korea Herald", url: "https://www.koreaherald.com/" }],
  tags: ["Mongolia", "South Korea"],
};

try {
  // Create: 201 with the new article (a draft, as no status was given).
  const created = await cms.POST("/api/v1/articles", { body: input });
  if (created.error !== undefined || !created.response.ok) {
    fail(`POST /api/v1/articles: ${describeError(created.error, created.response)}`);
  }
  const { slug } = created.data;

  // Read it back by its slug, whole (with its citations and tags).
  const read = await cms.GET("/api/v1/articles/{article}", { params: { path: { article: slug } } });
  if (read.error !== undefined || !read.response.ok) {
    fail(`GET /api/v1/articles/${slug}: ${describeError(read.error, read.response)}`);
  }
  const article = read.data;

  const tagSlugs = article.tags.map((t) => t.slug);
  console.log(`title: ${article.title}`);
  console.log(`slug:  ${article.slug} (${article.status}, version ${article.version})`);
  console.log(`tags:  ${tagSlugs.join(", ")}`);
  console.log(`cites: ${(article.citations ?? []).map((c) => `[${c.number}] ${c.title}`).join("; ")}`);

  // What was written is what is read.
  if (article.title !== input.title) fail(`read back the title ${JSON.stringify(article.title)}`);
  if (tagSlugs.join(",") !== "mongolia,south-korea") fail(`read back the tags ${tagSlugs.join(",")}`);
  if (article.citations?.[0]?.number !== 1) fail("read back no citation [1]");
} catch (e) {
  // fetch itself failed (no server, refused connection, bad URL) or a body was not JSON.
  const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : "";
  fail(`${e instanceof Error ? e.message : String(e)}${cause}`);
}
