-- Invoices by status.
SELECT status, CAST(COUNT(*) AS SIGNED) AS n FROM invoices GROUP BY status
