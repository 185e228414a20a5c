-- PostgreSQL delivers session invalidations by NOTIFY on the channel `orgpass_sessions`, at
-- the commit of the change: nothing is stored. (SQLite keeps them in a table; see its 0004.)
SELECT 1;
