-- CIBA user codes (CIBA Core 1.0 section 7.1 `user_code`): one secret PIN
-- per user, stored only as an argon2id PHC string (like users.password_hash).
-- Same conventions as 0001_init.sql.
CREATE TABLE user_codes (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
