# backoffice-api: `docker build -t backoffice-api .`
# No build step: tsx runs src/ at runtime and the migrator reads drizzle/ at startup.

# deps: production dependencies only, exactly as the lock file says. Installed here, on the
# image's own platform (linux, glibc), so that the native prebuilt packages (@node-rs/argon2,
# @node-rs/bcrypt, esbuild for tsx) are the right ones; the host's node_modules never enters.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY drizzle ./drizzle
COPY src ./src
COPY package.json tsconfig.json ./

# the image's own unprivileged user (uid 1000); files stay root-owned, so the app cannot
# rewrite its own code. tsx keeps its compile cache in /tmp (an emptyDir in Kubernetes).
USER node
EXPOSE 3000

# The same command as `npm start`, in exec form: node is PID 1 and receives SIGTERM itself,
# drains in-flight requests and exits. Not `npm start`: npm does not reliably forward SIGTERM
# to its child, so the container would be killed after the grace period instead of draining.
CMD ["node", "--import", "tsx", "src/server.ts"]
