import Foundation

extension PostgresStore {
    /// The rest of the SQLite store's tables, so `store copy` can bring a whole store over and
    /// every stage can be served from PostgreSQL. Column for column the SQLite schema (the names
    /// in snake_case), with PostgreSQL's types: timestamptz for dates, boolean for flags, text
    /// compared case-insensitively through `lower()` where SQLite says NOCASE.
    static let remainingTablesMigration = Migration(
        version: 3, name: "comparisons, issues, tokens, the endpoint's queue, summaries, runs, bounces, topics",
        statements: [
            """
            CREATE TABLE comparison (
                id bigserial PRIMARY KEY,
                source text NOT NULL UNIQUE,
                url text,
                title text NOT NULL,
                content_hash text NOT NULL,
                record_hash text NOT NULL,
                published timestamptz NOT NULL,
                published_from text NOT NULL,
                layout text NOT NULL,
                markup text NOT NULL,
                first_seen_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX comparison_record_hash ON comparison (record_hash)",
            "CREATE INDEX comparison_published ON comparison (published)",
            """
            CREATE TABLE comparison_tool (
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE CASCADE,
                position integer NOT NULL,
                name text NOT NULL,
                tagline text NOT NULL,
                category text,
                description text NOT NULL,
                panel_ship_percent integer CHECK (panel_ship_percent BETWEEN 0 AND 100),
                panel_verdict text,
                ship_votes integer,
                skip_votes integer,
                pricing text,
                entry text,
                PRIMARY KEY (comparison_id, position)
            )
            """,
            """
            CREATE TABLE take (
                id bigserial PRIMARY KEY,
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE CASCADE,
                position integer NOT NULL,
                tool text NOT NULL,
                role text NOT NULL CHECK (role IN (\(ReviewerRole.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
                score integer CHECK (score BETWEEN 0 AND 100),
                verdict text,
                text text NOT NULL,
                role_inferred boolean NOT NULL,
                tool_inferred boolean NOT NULL,
                line integer
            )
            """,
            "CREATE INDEX take_comparison ON take (comparison_id)",
            """
            CREATE TABLE missing_take (
                -- SQLite keeps these in insertion order (its rowid); so does this id.
                id bigserial PRIMARY KEY,
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE CASCADE,
                tool text NOT NULL,
                role text NOT NULL
            )
            """,
            "CREATE INDEX missing_take_comparison ON missing_take (comparison_id)",
            """
            CREATE TABLE issue (
                week text PRIMARY KEY,
                status text NOT NULL,
                subject text,
                html text,
                text text,
                manifest text,
                draft_hash text,
                approved_hash text,
                approved_at timestamptz,
                sent_at timestamptz,
                skip_reason text,
                updated_at timestamptz NOT NULL,
                variants text,
                hidden_from_archive boolean NOT NULL DEFAULT false
            )
            """,
            """
            CREATE TABLE issue_comparison (
                week text NOT NULL REFERENCES issue (week) ON DELETE CASCADE,
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE RESTRICT,
                position integer NOT NULL,
                PRIMARY KEY (week, comparison_id)
            )
            """,
            // The SQLite ledger's retry time, beside the leases of version 2.
            "ALTER TABLE delivery ADD COLUMN next_attempt_at timestamptz",
            "CREATE INDEX delivery_message_id ON delivery (message_id)",
            // Tokens are random and stored only as their SHA-256.
            """
            CREATE TABLE subscriber_token (
                token_hash text PRIMARY KEY,
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                purpose text NOT NULL,
                created_at timestamptz NOT NULL,
                used_at timestamptz,
                expires_at timestamptz
            )
            """,
            "CREATE INDEX subscriber_token_subscriber ON subscriber_token (subscriber_id)",
            """
            CREATE TABLE consent (
                id bigserial PRIMARY KEY,
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                event text NOT NULL,
                at timestamptz NOT NULL,
                client_address text,
                user_agent text,
                detail text
            )
            """,
            "CREATE INDEX consent_subscriber ON consent (subscriber_id)",
            """
            CREATE TABLE endpoint_mail (
                id bigserial PRIMARY KEY,
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                kind text NOT NULL,
                state text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL,
                next_attempt_at timestamptz NOT NULL,
                sent_at timestamptz,
                last_reply text
            )
            """,
            "CREATE INDEX endpoint_mail_due ON endpoint_mail (state, next_attempt_at)",
            """
            CREATE TABLE summary (
                model text NOT NULL,
                prompt_version text NOT NULL,
                source_hash text NOT NULL,
                text text NOT NULL,
                provider text NOT NULL,
                kind text NOT NULL,
                model_name text,
                prompt_tokens integer,
                completion_tokens integer,
                milliseconds integer,
                note text,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (model, prompt_version, source_hash)
            )
            """,
            """
            CREATE TABLE summary_override (
                week text NOT NULL,
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE CASCADE,
                text text NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (week, comparison_id)
            )
            """,
            """
            CREATE TABLE run_week (
                week text PRIMARY KEY,
                first_run_at timestamptz NOT NULL,
                last_run_at timestamptz NOT NULL,
                last_outcome text NOT NULL,
                last_summary text,
                last_error text
            )
            """,
            """
            CREATE TABLE editor_preview (
                week text NOT NULL,
                draft_hash text NOT NULL,
                editor text NOT NULL,
                sent_at timestamptz NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX editor_preview_once ON editor_preview (week, draft_hash, lower(editor))",
            """
            CREATE TABLE verp_token (
                token_hash text PRIMARY KEY,
                week text NOT NULL,
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX verp_token_subscriber ON verp_token (subscriber_id)",
            """
            CREATE TABLE bounce_event (
                id bigserial PRIMARY KEY,
                key text NOT NULL UNIQUE,
                subscriber_id bigint REFERENCES subscriber (id) ON DELETE CASCADE,
                week text,
                kind text NOT NULL,
                status text,
                action text,
                diagnostic text,
                source text NOT NULL,
                received_at timestamptz NOT NULL,
                message_sent_at timestamptz NOT NULL,
                effect text NOT NULL
            )
            """,
            "CREATE INDEX bounce_event_subscriber ON bounce_event (subscriber_id, kind)",
            "CREATE INDEX bounce_event_week ON bounce_event (week, kind)",
            """
            CREATE TABLE topic (
                name text PRIMARY KEY,
                first_seen_at timestamptz NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX topic_name ON topic (lower(name))",
            """
            CREATE TABLE comparison_topic (
                comparison_id bigint NOT NULL REFERENCES comparison (id) ON DELETE CASCADE,
                topic text NOT NULL REFERENCES topic (name) ON DELETE RESTRICT,
                PRIMARY KEY (comparison_id, topic)
            )
            """,
            """
            CREATE TABLE subscriber_topic (
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                topic text NOT NULL,
                PRIMARY KEY (subscriber_id, topic)
            )
            """,
        ])
}
