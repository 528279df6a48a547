// PostGraphile 5 for bench/peer.py: the bench_peer schema only, N workers with Node's cluster
// module (the CLI has no cluster option). Env: PEER_DATABASE_URL, PEER_PORT, PEER_WORKERS.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.env.PEER_PORT);
const workers = Number(process.env.PEER_WORKERS ?? 2);

if (cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (!stopping) {
      console.error(`worker ${worker.process.pid} exited (${code})`);
      process.exit(1);
    }
  });
  process.on("SIGTERM", () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGTERM");
    setTimeout(() => process.exit(0), 500);
  });
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [
      makePgService({ connectionString: process.env.PEER_DATABASE_URL, schemas: ["bench_peer"] }),
    ],
    grafserv: { port, graphqlPath: "/graphql", graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const serv = postgraphile(preset).createServ(grafserv);
  const server = createServer();
  server.on("error", (error) => {
    console.error(error);
    process.exit(1);
  });
  await serv.addTo(server);
  server.listen(port, "127.0.0.1");
}
