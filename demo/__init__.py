"""`make demo`: one realistic shop task, as direct tool calling and as Code Mode."""
