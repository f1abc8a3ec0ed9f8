-- Read model of the User aggregate (src/projections/users-projection.ts).
CREATE TABLE users (
  user_id text PRIMARY KEY,
  email text,
  display_name text,
  status text NOT NULL,
  deactivation_reason text,
  registered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX users_email ON users (email);
