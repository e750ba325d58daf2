import { useOrders, ensureApiDatabase } from './lib/api-setup.js';
useOrders(Number(process.argv[2]));
await ensureApiDatabase((l) => console.log(new Date().toISOString(), l));
process.exit(0);
