-- One settler at a time; others wait and then find it settled.
LOCK TABLE oncely_epochs IN EXCLUSIVE MODE
