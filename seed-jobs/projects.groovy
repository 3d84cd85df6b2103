// Job DSL run by the Jenkins job `lab-seed` (created by casc/jenkins.yaml, which embeds
// this file from the image). Gitea is the source of truth: every repository of the Gitea
// organisation LAB_ORG gets one multibranch pipeline `<org>/<repo>`; the Job DSL step
// deletes the jobs of repositories that are gone (removeAction DELETE).
//
// Inputs (build environment, i.e. Job DSL script variables; process env as a fallback):
//   LAB_ORG          Gitea organisation (default cd4ml); its Jenkins folder exists (JCasC)
//   GITEA_URL        in-network Gitea URL (default http://gitea:3000), also the serverUrl
//                    of the Gitea server configured in JCasC (webhooks match through it)
//   GITEA_BOT_TOKEN  API token; when not set, read from the file $SECRETS/GITEA_BOT_TOKEN
//                    written by casc/check-env.sh (default SECRETS=/run/secrets)
//   LAB_CHAIN_PROJECTS  space-separated repositories that also get chained jobs (default
//                    cd4ml-train): folder <org>/<repo>-chain with `preprocess` (multibranch
//                    on main only, jobs/preprocess.Jenkinsfile: a push starts it), `train`
//                    and `test` (pipeline jobs from jobs/train|test.Jenkinsfile on main,
//                    started by the job before them with `build job:`)
//
// Job DSL names checked in jenkinsci/gitea-plugin (symbols giteaBranchDiscovery,
// giteaPullRequestDiscovery, giteaWebhookRegistration; source class GiteaSCMSource),
// jenkinsci/job-dsl-plugin (branchSources/branchSource/source, factory, triggers; for
// pipelineJob: parameters/stringParam, definition/cpsScm/scm/git, scriptPath,
// lightweight) and jenkinsci/scm-api-plugin (trait symbol headWildcardFilter of
// WildcardSCMHeadFilterTrait: includes, excludes, space-separated wildcards).
// Values used inside DSL closures are computed before them: Job DSL resolves names in a
// closure against its context first, so helper calls there would be taken as DSL.

import groovy.json.JsonSlurper

String setting(String name, String fallback) {
    Map vars = binding.variables
    Object raw = vars.containsKey(name) ? vars[name] : System.getenv(name)
    String value = raw == null ? '' : raw.toString().trim()
    if (value) {
        return value
    }
    if (fallback != null) {
        return fallback
    }
    throw new IllegalStateException("lab-seed: ${name} is not set")
}

String botToken() {
    String direct = setting('GITEA_BOT_TOKEN', '')
    if (direct) {
        return direct
    }
    File file = new File(setting('SECRETS', '/run/secrets'), 'GITEA_BOT_TOKEN')
    if (file.isFile() && file.getText('UTF-8').trim()) {
        return file.getText('UTF-8').trim()
    }
    throw new IllegalStateException(
        "lab-seed: no Gitea token: GITEA_BOT_TOKEN is not set and ${file} is missing or empty " +
        '(it comes from .lab/secrets.env; run `lab up`)')
}

List<Map> orgRepositories(String giteaUrl, String org, String token) {
    List<Map> repos = []
    int pageSize = 50
    for (int page = 1; page <= 200; page++) {
        String orgPath = URLEncoder.encode(org, 'UTF-8')
        URL url = new URL("${giteaUrl}/api/v1/orgs/${orgPath}/repos?limit=${pageSize}&page=${page}")
        HttpURLConnection conn = (HttpURLConnection) url.openConnection()
        conn.setRequestProperty('Authorization', 'token ' + token)
        conn.setRequestProperty('Accept', 'application/json')
        conn.setConnectTimeout(10000)
        conn.setReadTimeout(30000)
        int status
        try {
            status = conn.getResponseCode()
        } catch (IOException e) {
            throw new IllegalStateException("lab-seed: cannot reach Gitea at ${giteaUrl}: ${e}", e)
        }
        if (status != 200) {
            InputStream err = conn.getErrorStream()
            String body = err == null ? '' : err.getText('UTF-8').take(300)
            String hint = status == 404 ? " (does the Gitea organisation '${org}' exist?)" :
                (status == 401 || status == 403) ? ' (is GITEA_BOT_TOKEN valid and a member of the org?)' : ''
            throw new IllegalStateException(
                "lab-seed: GET ${url} answered HTTP ${status}${hint}: ${body}")
        }
        Object batch = new JsonSlurper().parse(conn.getInputStream(), 'UTF-8')
        if (!(batch instanceof List)) {
            throw new IllegalStateException("lab-seed: GET ${url} did not return a JSON list")
        }
        if (batch.isEmpty()) {
            return repos
        }
        repos.addAll((List<Map>) batch)
    }
    throw new IllegalStateException("lab-seed: Gitea organisation ${org} lists more than 200 pages of repositories")
}

String org = setting('LAB_ORG', 'cd4ml')
String giteaUrl = setting('GITEA_URL', 'http://gitea:3000').replaceAll('/+$', '')
// Archived repositories get no job. `lab up` waits for exactly these jobs and applies
// the same listing and filter (GiteaClient.job_repo_names in lab/clients/gitea.py).
List<String> names = orgRepositories(giteaUrl, org, botToken())
    .findAll { Map repo -> !repo.archived }
    .collect { Map repo -> repo.name.toString() }
    .sort()

// The multibranch job of one Gitea repository: branches (and, unless mainOnly, pull
// requests) built from scriptPath. Called at the script's top level, never inside a
// DSL closure (see above).
void giteaMultibranch(String jobName, String giteaUrl, String org, String repo,
                      String sourceId, String summary, String script, boolean mainOnly) {
    multibranchPipelineJob(jobName) {
        displayName(jobName.tokenize('/').last())
        description(summary)
        branchSources {
            branchSource {
                source {
                    giteaSCMSource {
                        id(sourceId)
                        serverUrl(giteaUrl)
                        repoOwner(org)
                        repository(repo)
                        credentialsId('GIT_PAT')
                        traits {
                            // 1: branches that are not also PRs (a PR branch builds as PR-N only)
                            giteaBranchDiscovery {
                                strategyId(1)
                            }
                            if (mainOnly) {
                                headWildcardFilter {
                                    includes('main')
                                    excludes('')
                                }
                            } else {
                                // 2: the PR head itself, not a merge with the target made by
                                // Jenkins: committing back must not drag the target into the PR
                                giteaPullRequestDiscovery {
                                    strategyId(2)
                                }
                            }
                            // the lab creates the Gitea webhooks itself
                            giteaWebhookRegistration {
                                mode('DISABLE')
                            }
                        }
                    }
                }
            }
        }
        factory {
            workflowBranchProjectFactory {
                scriptPath(script)
            }
        }
        // Webhooks start builds; the periodic scan is only a fallback.
        triggers {
            periodicFolderTrigger {
                interval('30m')
            }
        }
        orphanedItemStrategy {
            discardOldItems {
                numToKeep(20)
            }
        }
    }
    // Index now: Job DSL does not scan a multibranch project it creates.
    queue(jobName)
}

// A downstream job of a chain: a pipeline from a Jenkinsfile of the repository's main.
// Its parameters are declared here as in the Jenkinsfile: Jenkins drops parameters a job
// does not define, and a job's Jenkinsfile defines them only once it has run.
void chainJob(String jobName, String cloneUrl, String script, String summary) {
    pipelineJob(jobName) {
        description(summary)
        parameters {
            stringParam('CHAIN_ID', '', 'Chain identity (BUILD_TAG of its preprocess build)')
            stringParam('UPSTREAM', '', 'The build that started this one')
        }
        logRotator {
            numToKeep(30)
        }
        definition {
            cpsScm {
                scm {
                    git {
                        remote {
                            url(cloneUrl)
                            credentials('GIT_PAT')
                        }
                        branch('*/main')
                    }
                }
                scriptPath(script)
                lightweight(true)
            }
        }
    }
}

List<String> chainProjects = setting('LAB_CHAIN_PROJECTS', 'cd4ml-train').tokenize(' ')

names.each { String repo ->
    String jobName = "${org}/${repo}"
    String sourceId = "gitea-${org}-${repo}"  // stable: branch history survives a re-seed
    String summary = "CD4ML pipeline of ${org}/${repo} (Gitea), from its Jenkinsfile. " +
        'Builds branches and pull requests (the PR head, so a commit-back lands on the PR branch). ' +
        'Made by lab-seed.'
    giteaMultibranch(jobName, giteaUrl, org, repo, sourceId, summary, 'Jenkinsfile', false)
    if (chainProjects.contains(repo)) {
        String folderName = "${org}/${repo}-chain"
        String cloneUrl = "${giteaUrl}/${org}/${repo}.git"
        folder(folderName) {
            description("Chained jobs of ${org}/${repo}: preprocess -> train -> test, " +
                'data passed through S3; a push to main starts preprocess. Made by lab-seed.')
        }
        giteaMultibranch("${folderName}/preprocess", giteaUrl, org, repo, "gitea-${org}-${repo}-preprocess",
            "Chain job 1/3 of ${org}/${repo} (jobs/preprocess.Jenkinsfile), main only. Made by lab-seed.",
            'jobs/preprocess.Jenkinsfile', true)
        chainJob("${folderName}/train", cloneUrl, 'jobs/train.Jenkinsfile',
            "Chain job 2/3 of ${org}/${repo}, started by preprocess. Made by lab-seed.")
        chainJob("${folderName}/test", cloneUrl, 'jobs/test.Jenkinsfile',
            "Chain job 3/3 of ${org}/${repo}, started by train. Made by lab-seed.")
    }
}

println("lab-seed: Gitea organisation ${org} at ${giteaUrl}: ${names.size()} repositories" +
    (names ? ': ' + names.join(', ') : ''))
