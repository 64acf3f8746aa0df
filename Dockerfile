# The server as a container. `docker compose up` (docker-compose.yml) runs the demo: the built-in Cloud
# Control emulator with sample data. For AWS, give --region and the SDK's usual AWS_* variables instead.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY catalog catalog
COPY emulator emulator
COPY server server
COPY bench bench
RUN npx tsc -p tsconfig.json

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist dist
# The registry snapshot every resource type's tables are built from at start (found from dist/ as ../catalog/registry).
COPY catalog/registry/schemas-us-east-1.json.gz catalog/registry/stackql-table-names.tsv catalog/registry/list-handlers.json catalog/registry/
USER node
EXPOSE 5433
ENTRYPOINT ["node", "dist/server/main.js"]
CMD ["--demo", "--host", "0.0.0.0", "--port", "5433"]
