-- The server's version string ("10.11.19-MariaDB-…").
SELECT VERSION()
