-- Invoices by status.
SELECT status, COUNT(*) AS n FROM invoices GROUP BY status
