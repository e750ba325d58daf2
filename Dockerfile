# backoffice-api: `docker build -t backoffice-api .`
# The image runs the JavaScript bundled into dist/ by `npm run build` (esbuild, in the build stage):
# no TypeScript compiler, tsx or esbuild at run time. The migrator reads drizzle/ at startup.

# build: every dependency (esbuild is a dev dependency), then the bundle in dist/. npm ci's
# postinstall applies patches/ (patch-package: the postgres.js fix, docs/decisions.md) before the
# driver is bundled.
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/require-node.cjs ./scripts/
COPY src ./src
RUN npm run build

# deps: production dependencies only, exactly as the lock file says. Installed here, on the
# image's own platform (linux, glibc), so that the native prebuilt packages (@node-rs/argon2,
# @node-rs/bcrypt) are the right ones; the host's node_modules never enters. The bundle leaves out
# what is loaded from here at run time: those natives, PGlite, pg-boss and the Swagger UI (with
# @fastify/static under it), which reads its pages from its own directory. No install scripts:
# the project's postinstall is patch-package, a dev dependency; the patched driver comes from the
# build stage (the bundle holds it anyway), and no production dependency has a script of its own.
FROM node:26-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/postgres ./node_modules/postgres

FROM node:26-bookworm-slim
# NODE_COMPILE_CACHE: Node's compile cache (src/main.ts), V8's compiled code of each file, filled
# below: a pod's start reads it instead of compiling the bundle. In the image, not under /tmp (an
# emptyDir in Kubernetes, empty at each pod's start); read-only there, as the whole image is.
ENV NODE_ENV=production PORT=3000 METRICS_PORT=9464 NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
COPY package.json ./

# The cache, filled by loading the service without starting it (no database needed). Node keeps it
# in a directory named after the user's uid, in files only that user may read: so it is made as
# node, the user that runs the service (uid 1000, the Deployment's runAsUser), then handed to root,
# readable by all and writable by none.
RUN mkdir compile-cache && chown node compile-cache
USER node
RUN node dist/server.js --warm-compile-cache
USER root
RUN chown -R root:root compile-cache && chmod -R a+rX,a-w compile-cache

# the image's own unprivileged user (uid 1000); files stay root-owned, so the app cannot
# rewrite its own code.
USER node
EXPOSE 3000 9464

# The same command as `npm start` (whose `exec` makes node the process npm signals), in exec
# form: node is PID 1 and receives SIGTERM itself, drains in-flight requests and exits.
# `npm run db:migrate` is `node dist/migrate/migrate-cli.js` here.
CMD ["node", "dist/server.js"]
