// Enqueue an oncely job from Node, in the application's own transaction.
//
// An order and the job that ships it are written in one transaction: if it
// commits, both exist and an oncely worker ships the order once; if it rolls
// back, neither exists. Uses oncely's SQL API (docs/sql-api.md, contract 1).
//
//     node enqueue.js DATABASE_URL commit|rollback REFERENCE
//
// Prints the job's id (the id it would have had, when rolled back).
'use strict';

const { Client } = require('pg');

async function placeOrder(url, reference, commit) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS shop_orders (id bigserial PRIMARY KEY, reference text NOT NULL)',
    );
    await client.query('BEGIN');
    try {
      const order = await client.query(
        'INSERT INTO shop_orders (reference) VALUES ($1) RETURNING id',
        [reference],
      );
      const orderId = order.rows[0].id;
      const job = await client.query(
        'SELECT oncely_enqueue($1, $2, $3::jsonb, unique_key => $4) AS id',
        ['shop', 'order:ship', JSON.stringify({ order: Number(orderId) }), `ship-${orderId}`],
      );
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      return job.rows[0].id;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } finally {
    await client.end();
  }
}

async function main() {
  const [url, outcome, reference] = process.argv.slice(2);
  if (!url || !['commit', 'rollback'].includes(outcome) || !reference) {
    console.error('usage: node enqueue.js DATABASE_URL commit|rollback REFERENCE');
    process.exit(2);
  }
  console.log(await placeOrder(url, reference, outcome === 'commit'));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
