e2e: ## end-to-end suite (placeholder until issue 5)
	@echo "e2e: not yet written"
.PHONY: e2e
