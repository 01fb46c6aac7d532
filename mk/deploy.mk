# Deployment files (issue 13): deploy/kubernetes, deploy/prometheus, deploy/systemd, checked by the
# tools that run them (scripts/deploy/check.sh). `make test` runs `deploy-check`. See docs/fleet.md.
deploy-check: ## render and check deploy/ (kubectl kustomize, checkov, promtool, systemd-analyze)
	scripts/deploy/check.sh

deploy-tools: ## install kubectl, promtool/prometheus, systemd-analyze, ip and checkov (.venv-deploy) when missing
	scripts/deploy/install-tools.sh

.PHONY: deploy-check deploy-tools
