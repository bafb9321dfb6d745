-- The legacy chat database: the schema of the open-source Vercel "ai-chatbot" template (Drizzle ORM, PostgreSQL),
-- as its migrations 0000-0008 leave it. Table and column names are Drizzle's (quoted, camelCase).
-- Two quirks of the original are kept on purpose because the importer must cope with them:
--   * "Document"'s kind column is named "text" (Drizzle field `kind` mapped to column "text");
--   * timestamps are `timestamp` WITHOUT time zone, written by the app as UTC wall-clock time.
-- "Message"/"Vote" are the deprecated pre-"parts" tables (content json); "Message_v2"/"Vote_v2" replaced them.

CREATE TABLE IF NOT EXISTS "User" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    "email" varchar(64) NOT NULL,
    "password" varchar(64)
);

CREATE TABLE IF NOT EXISTS "Chat" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    "createdAt" timestamp NOT NULL,
    "title" text NOT NULL,
    "userId" uuid NOT NULL REFERENCES "User" ("id"),
    "visibility" varchar DEFAULT 'private' NOT NULL
);

-- Deprecated message format: `content` is a string or an array of core content parts
-- ({type: "text" | "tool-call" | "tool-result" | "reasoning", ...}); tool results are rows of role "tool".
CREATE TABLE IF NOT EXISTS "Message" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    "chatId" uuid NOT NULL REFERENCES "Chat" ("id"),
    "role" varchar NOT NULL,
    "content" json NOT NULL,
    "createdAt" timestamp NOT NULL
);

CREATE TABLE IF NOT EXISTS "Vote" (
    "chatId" uuid NOT NULL REFERENCES "Chat" ("id"),
    "messageId" uuid NOT NULL REFERENCES "Message" ("id"),
    "isUpvoted" boolean NOT NULL,
    CONSTRAINT "Vote_chatId_messageId_pk" PRIMARY KEY ("chatId", "messageId")
);

-- Current message format: `parts` is the AI SDK's UI message parts array, `attachments` the older
-- experimental attachments ([{name, url, contentType}]).
CREATE TABLE IF NOT EXISTS "Message_v2" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    "chatId" uuid NOT NULL REFERENCES "Chat" ("id"),
    "role" varchar NOT NULL,
    "parts" json NOT NULL,
    "attachments" json NOT NULL,
    "createdAt" timestamp NOT NULL
);

CREATE TABLE IF NOT EXISTS "Vote_v2" (
    "chatId" uuid NOT NULL REFERENCES "Chat" ("id"),
    "messageId" uuid NOT NULL REFERENCES "Message_v2" ("id"),
    "isUpvoted" boolean NOT NULL,
    CONSTRAINT "Vote_v2_chatId_messageId_pk" PRIMARY KEY ("chatId", "messageId")
);

-- One row per version of a document: (id, createdAt) is the key.
CREATE TABLE IF NOT EXISTS "Document" (
    "id" uuid DEFAULT gen_random_uuid() NOT NULL,
    "createdAt" timestamp NOT NULL,
    "title" text NOT NULL,
    "content" text,
    "text" varchar DEFAULT 'text' NOT NULL,
    "userId" uuid NOT NULL REFERENCES "User" ("id"),
    CONSTRAINT "Document_id_createdAt_pk" PRIMARY KEY ("id", "createdAt")
);

CREATE TABLE IF NOT EXISTS "Suggestion" (
    "id" uuid DEFAULT gen_random_uuid() NOT NULL,
    "documentId" uuid NOT NULL,
    "documentCreatedAt" timestamp NOT NULL,
    "originalText" text NOT NULL,
    "suggestedText" text NOT NULL,
    "description" text,
    "isResolved" boolean DEFAULT false NOT NULL,
    "userId" uuid NOT NULL REFERENCES "User" ("id"),
    "createdAt" timestamp NOT NULL,
    CONSTRAINT "Suggestion_id_pk" PRIMARY KEY ("id"),
    CONSTRAINT "Suggestion_documentId_documentCreatedAt_Document_id_createdAt_fk"
        FOREIGN KEY ("documentId", "documentCreatedAt") REFERENCES "Document" ("id", "createdAt")
);

-- Resumable-stream ids of in-flight responses (transient).
CREATE TABLE IF NOT EXISTS "Stream" (
    "id" uuid DEFAULT gen_random_uuid() NOT NULL,
    "chatId" uuid NOT NULL REFERENCES "Chat" ("id"),
    "createdAt" timestamp NOT NULL,
    CONSTRAINT "Stream_id_pk" PRIMARY KEY ("id")
);
