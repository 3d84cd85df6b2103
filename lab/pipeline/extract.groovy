// Declarative model extraction for lab.pipeline.model: one JVM for many Jenkinsfiles.
// Reads one absolute path per line on stdin; for each file prints ONE JSON object:
//   {"path", "done": true, "pipeline": {"pipeline": {...}} or null,
//    "locations": {JSON pointer: line}, "problems": [{"line","column","message"}]}
//
// The pipeline is emitted in the shape of Jenkins' own declarative AST JSON (the
// `pipeline-model-converter/toJson` output): this file ports the parser of
// jenkinsci/pipeline-model-definition-plugin, read at master 42c9dc3e (2025-11-10), the
// newest commit in our mirror; the pinned 2.2293.v6e7193cec599 (commit 6e7193cec599) is
// not in it. The format is stable: ast-schema.json last changed 2019-10-29, ModelParser
// 2020-12-22, the ModelAST classes' toJSON() only in library upgrades since (git log).
//   pipeline-model-definition/src/main/groovy/org/jenkinsci/plugins/pipeline/modeldefinition/
//     parser/ModelParser.groovy      (every parseXyz below keeps its name and its order)
//     parser/ASTParserUtils.groovy   (matchMethodName, matchMethodCall, matchBlockStatement,
//                                     asBlock, eachStatement, isDeclarativePipelineStep)
//     parser/Converter.groovy        (the converter compiles to CONVERSION, then parses)
//     Utils.groovy                   (getSourceTextForASTNode, trimQuotes)
//   pipeline-model-api/src/main/java/org/jenkinsci/plugins/pipeline/modeldefinition/ast/
//     ModelAST*.java                 (toJSON(): the keys, their order, what is optional)
//   .../modeldefinition/Messages.properties (the ModelParser.* error texts)
// Jenkins parses with Groovy 2.4.21 (workflow-cps), which is what Debian's groovy is.
// Jenkins serialises with json-lib 2.4-jenkins-15 (core jenkins-2.568.2 pom.xml): read at
// jenkinsci/json-lib tag json-lib-2.4-jenkins-15, src/main/java/net/sf/json/{JSONObject,
// JSONNull,util/JSONUtils}.java, strings are written as given (JSONUtils.valueToString
// quotes them; JSONNull.equals no longer matches "null"), so JsonOutput here agrees.
//
// Beyond Jenkins' JSON: `locations` maps a JSON pointer (RFC 6901) into the emitted
// document to the 1-based line of the construct, and statements outside the pipeline
// block are problems here (Jenkins runs them as script; only the stack driver can).
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.expr.BinaryExpression
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.DeclarationExpression
import org.codehaus.groovy.ast.expr.Expression
import org.codehaus.groovy.ast.expr.GStringExpression
import org.codehaus.groovy.ast.expr.MapExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.NamedArgumentListExpression
import org.codehaus.groovy.ast.expr.TupleExpression
import org.codehaus.groovy.ast.expr.VariableExpression
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.SourceUnit
import org.codehaus.groovy.control.messages.ExceptionMessage
import org.codehaus.groovy.control.messages.SyntaxErrorMessage
import org.codehaus.groovy.syntax.Types

class Extractor {
    // DeclarativeAgentDescriptor.zeroArgModels() in Jenkins; ModelParser's own fallback
    // outside Jenkins is exactly these two.
    static final Set<String> ZERO_ARG_AGENTS = ['any', 'none'] as Set

    // populateStepArgumentList: a single unnamed argument of a step without a block becomes
    // its sole required parameter (structs DescribableModel.getSoleRequiredParameter: the
    // only @DataBoundConstructor parameter) unless the step takes a closure
    // (DescriptorLookupCache.stepTakesClosure). Jenkins reads the installed descriptors;
    // this is that answer for the steps the lab knows, read at the commits casc/plugins.txt
    // pins (the version suffix is the commit). Steps not listed keep the argument unnamed,
    // as Jenkins does for a step it has no descriptor for.
    //   workflow-durable-task-step 56e587f4 src/main/java/org/jenkinsci/plugins/workflow/
    //     steps/durable_task/{Shell,BatchScript,PowershellScript,PowerShellCoreScript}Step.java
    //   workflow-basic-steps 808bfd7f src/main/java/org/jenkinsci/plugins/workflow/steps/
    //     {Echo,Error,Sleep,ReadFile,FileExists,Unstable,Tool,ArtifactArchiver,Core}Step.java,
    //     .../support/steps/stash/{Stash,Unstash}Step.java (WriteFileStep and MailStep
    //     take two required parameters; deleteDir, isUnix, pwd none)
    //   jenkins (core) jenkins-2.568.2 core/src/main/java/hudson/tasks/ArtifactArchiver.java,
    //     Fingerprinter.java (metastep symbols archiveArtifacts, fingerprint)
    //   junit c64aedde src/main/java/hudson/tasks/junit/pipeline/JUnitResultsStep.java
    //   pipeline-build-step 4b67ea11 .../workflow/support/steps/build/BuildTriggerStep.java
    //   pipeline-input-step 56198a64 .../workflow/support/steps/input/InputStep.java
    //   workflow-scm-step ad69e602 .../workflow/steps/scm/GenericSCMStep.java (checkout)
    //   git git-5.10.1 src/main/java/jenkins/plugins/git/GitStep.java
    //   pipeline-milestone-step 6e22b8cf .../pipeline/milestone/MilestoneStep.java
    //   pipeline-groovy-lib 5cc68882 src/main/java/org/jenkinsci/plugins/workflow/libs/LibraryStep.java
    //   workflow-cps (pin 49a6937566b6 is not in our mirror; read at its HEAD e007b7ff,
    //     2026-07-21, the file unchanged since 2025-09-30) plugin/src/main/java/org/
    //     jenkinsci/plugins/workflow/cps/steps/LoadStep.java
    static final Map<String, String> SOLE_REQUIRED = [
        sh: 'script', bat: 'script', powershell: 'script', pwsh: 'script',
        echo: 'message', error: 'message', unstable: 'message', input: 'message',
        sleep: 'time', readFile: 'file', fileExists: 'file', tool: 'name',
        stash: 'name', unstash: 'name', archive: 'includes', step: 'delegate',
        archiveArtifacts: 'artifacts', fingerprint: 'targets', junit: 'testResults',
        build: 'job', checkout: 'scm', git: 'url', milestone: 'ordinal',
        library: 'identifier', load: 'path',
    ]

    // BuildCondition.getOrderedConditionNames(): the @Symbol of each condition under
    // model/conditions/, by descending @Extension ordinal.
    static final List<String> BUILD_CONDITIONS = [
        'always', 'changed', 'fixed', 'regression', 'aborted', 'success',
        'unsuccessful', 'unstable', 'failure', 'notBuilt', 'cleanup',
    ]

    final SourceUnit su
    final List<Map> problems = []
    final IdentityHashMap<Object, Integer> lines = new IdentityHashMap<>()

    Extractor(SourceUnit su) {
        this.su = su
    }

    void error(ASTNode n, String message) {
        int line = n != null && n.lineNumber > 0 ? n.lineNumber : 0
        int col = n != null && n.columnNumber > 0 ? n.columnNumber : 0
        problems << [line: line, column: col, message: message]
    }

    /** Remember the line of a JSON object built from ``n`` (for the locations table). */
    def at(def json, ASTNode n) {
        if (n != null && n.lineNumber > 0) {
            lines.put(json, n.lineNumber)
        }
        return json
    }

    // ---- ASTParserUtils ----

    static String matchMethodName(MethodCallExpression exp) {
        def lhs = exp.objectExpression
        if (lhs instanceof VariableExpression && lhs.name == 'this') {
            return exp.methodAsString
        }
        return null
    }

    static MethodCallExpression matchMethodCall(Statement st) {
        if (st instanceof ExpressionStatement && st.expression instanceof MethodCallExpression) {
            return (MethodCallExpression) st.expression
        }
        return null
    }

    /** BlockStatementMatch: [whole, methodName, arguments, body] or null. */
    static Map matchBlockStatement(Statement st) {
        def whole = matchMethodCall(st)
        if (whole == null) {
            return null
        }
        def name = matchMethodName(whole)
        def args = (TupleExpression) whole.arguments
        int sz = args.expressions.size()
        if (sz > 0 && name != null) {
            def last = args.getExpression(sz - 1)
            if (last instanceof ClosureExpression) {
                return [whole: whole, methodName: name, arguments: args, body: last]
            }
        }
        return null
    }

    static Expression argumentOf(Map m, int i) {
        def exprs = ((TupleExpression) m.arguments).expressions
        return i < exprs.size() ? exprs[i] : null
    }

    static BlockStatement asBlock(Statement st) {
        if (st instanceof BlockStatement) {
            return st
        }
        def bs = new BlockStatement()
        bs.addStatement(st)
        return bs
    }

    static List eachStatement(Statement st, Closure c) {
        return asBlock(st).statements.collect(c)
    }

    static List<Expression> argsOf(MethodCallExpression mc) {
        return ((TupleExpression) mc.arguments).expressions
    }

    static boolean isDeclarativePipelineStep(Statement stmt) {
        def b = matchBlockStatement(stmt)
        return b != null && b.methodName == 'pipeline' && b.arguments.expressions.size() == 1
    }

    // ---- source text (Utils.getSourceTextForASTNode, and ModelParser's BinaryExpression case) ----

    String getSourceText(ASTNode n) {
        def result = new StringBuilder()
        int beginLine = n.lineNumber
        int endLine = n.lastLineNumber
        int beginCol = n.columnNumber
        int endCol = n.lastColumnNumber
        if (n instanceof BlockStatement) {
            for (Statement s : n.statements) {
                if (s.lineNumber < beginLine) {
                    beginLine = s.lineNumber
                    beginCol = s.columnNumber
                }
                if (s.lastLineNumber > endLine) {
                    endLine = s.lastLineNumber
                    endCol = s.lastColumnNumber
                }
            }
        }
        if (beginLine < 1) {
            return ''  // a node without position (an empty block): Jenkins asserts here
        }
        for (int x = beginLine; x <= endLine; x++) {
            String line = su.source.getLine(x, null)
            if (line == null) {
                return result.toString().trim()
            }
            if (x == endLine) {
                line = line.substring(0, Math.min(line.length(), endCol - 1))
            }
            if (x == beginLine) {
                line = line.substring(Math.min(line.length(), beginCol - 1))
            }
            result.append(line).append('\n')
        }
        return result.toString().trim()
    }

    String getSourceText(BinaryExpression e) {
        return getSourceText(e.leftExpression) + e.operation.text + getSourceText(e.rightExpression)
    }

    // ---- values ----

    static Map lit(Object v) {
        return [isLiteral: true, value: v]
    }

    static Map gstring(String v) {
        return [isLiteral: false, value: v]
    }

    Map parseArgument(Expression e) {
        if (e instanceof ConstantExpression) {
            Object val = e.value
            if (val instanceof BigDecimal) {
                val = val.doubleValue()
            } else if (val instanceof BigInteger) {
                if (val > Long.MAX_VALUE || val < Long.MIN_VALUE) {
                    error(e, 'BigIntegers cannot be used as constants in Declarative. The maximum value for an integer is 9,223,372,036,854,775,807 and the minimum value for an integer is -9,223,372,036,854,775,808.')
                    val = -1
                } else {
                    val = val.longValue()
                }
            }
            return lit(val)
        }
        if (e instanceof GStringExpression || e instanceof MapExpression) {
            return gstring(getSourceText(e))
        }
        if (e instanceof VariableExpression && e.name in ZERO_ARG_AGENTS) {
            return lit(e.name)
        }
        // any other expression: an in-place GString holding its source text
        String v = '${' + getSourceText(e) + '}'
        String groovy = v.substring(2, v.length() - 1)
        if (groovy.startsWith('${')) {
            error(e, "${groovy} cannot be used as a value directly. Did you mean \"${groovy}\"? (add quotes)")
        }
        return gstring(v)
    }

    String parseStringLiteralOrEmpty(Expression exp) {
        def s = matchStringLiteral(exp)
        if (s == null) {
            error(exp, 'Expected string literal')
        }
        return s ?: ''
    }

    String parseStringLiteral(Expression exp) {
        return parseStringLiteralOrEmpty(exp) ?: 'error'
    }

    static String matchStringLiteral(Expression exp) {
        if (exp instanceof ConstantExpression) {
            return exp.value instanceof String ? exp.value : null
        } else if (exp instanceof VariableExpression) {
            return exp.name
        }
        return null
    }

    String parseKey(Expression e) {
        return parseStringLiteral(e)
    }

    String parseMethodName(MethodCallExpression exp) {
        def s = matchMethodName(exp)
        if (s == null) {
            if (exp.objectExpression instanceof VariableExpression &&
                !((VariableExpression) exp.objectExpression).isThisExpression()) {
                error(exp, 'Method calls on objects not allowed outside "script" blocks.')
            } else {
                error(exp, 'Expected a symbol')
            }
            s = 'error'
        }
        return s
    }

    Boolean parseBooleanMethod(MethodCallExpression mc) {
        def args = argsOf(mc)
        def exp = args ? args[0] : null
        if (!(exp instanceof ConstantExpression) || !(exp.value instanceof Boolean)) {
            error(mc.method, "Expected a boolean with ${parseMethodName(mc)}")
            return null
        }
        return (Boolean) exp.value
    }

    /** [kind: named|single|positional, json: ...] as ModelASTArgumentList.toJSON(). */
    Map parseArgumentList(List<Expression> args) {
        switch (args.size()) {
            case 0:
                return [kind: 'named', json: []]
            case 1:
                def named = args[0] instanceof MapExpression ? (MapExpression) args[0] : null
                // legacy meta-step syntax [$class: 'Foo', ...] stays a single argument
                if (named != null && !named.mapEntryExpressions.any { parseKey(it.keyExpression) == '$class' }) {
                    def list = named.mapEntryExpressions.collect { e ->
                        [key: parseKey(e.keyExpression), value: parseArgument(e.valueExpression)]
                    }
                    return [kind: 'named', json: list]
                }
                return [kind: 'single', json: parseArgument(args[0])]
            default:
                return [kind: 'positional', json: args.collect { parseArgument(it) }]
        }
    }

    Map parseMethodCall(MethodCallExpression expr) {
        return [name: parseMethodName(expr), arguments: parseMethodArgs(expr)]
    }

    List parseMethodArgs(MethodCallExpression expr) {
        def out = []
        argsOf(expr).each { a ->
            if (a instanceof MapExpression) {
                a.mapEntryExpressions.each { e ->
                    def pair = [key: parseKey(e.keyExpression)]
                    if (e.valueExpression instanceof ClosureExpression) {
                        error(e, 'Method call arguments')
                    } else if (e.valueExpression instanceof MethodCallExpression) {
                        pair.value = parseMethodCall((MethodCallExpression) e.valueExpression)
                    } else {
                        pair.value = parseArgument(e.valueExpression)
                    }
                    out << pair
                }
            } else if (a instanceof ClosureExpression) {
                error(expr, 'Method call arguments')
            } else if (a instanceof MethodCallExpression) {
                out << parseMethodCall(a)
            } else {
                out << parseArgument(a)
            }
        }
        return out
    }

    /**
     * The section loop of ModelParser (parsePipelineStep, parseMatrix, parseAxis,
     * parseStage, parseInput): each statement must be a method call, a name given twice
     * is an error; ``handle(name, statement, call, seen)`` does the rest.
     */
    void eachSection(Statement code, Closure<String> notASection, Closure handle) {
        def seen = new HashSet()
        eachStatement(code) { s ->
            def mc = matchMethodCall(s)
            if (mc == null) {
                error(s, notASection(s))
                return
            }
            def name = parseMethodName(mc)
            if (!seen.add(name)) {
                error(s, "Multiple occurrences of the ${name} section")
            }
            handle(name, s, mc, seen)
        }
    }

    String notASection(ASTNode n) {
        return "Not a valid section definition: \"${getSourceText(n)}\". Some extra configuration is required."
    }

    // ---- the pipeline ----

    Map parse(List<Statement> statements) {
        def pst = statements.find { isDeclarativePipelineStep(it) }
        if (pst == null) {
            boolean nested = false
            statements.each { nested = checkForNestedPipelineStep(it) || nested }
            if (!nested) {
                def first = statements ? statements[0] : null
                problems << [line: first?.lineNumber > 0 ? first.lineNumber : 1,
                             column: first?.columnNumber > 0 ? first.columnNumber : 1,
                             message: 'not a declarative pipeline: no top-level `pipeline { }` block ' +
                                 '(a scripted pipeline); it needs the stack driver']
            }
            return null
        }
        statements.each { s ->
            if (s.is(pst)) {
                return
            }
            def exp = s instanceof ExpressionStatement ? s.expression : null
            if (exp instanceof DeclarationExpression && exp.annotations.any { it.classNode.name == 'Library' }) {
                error(s, 'shared library import outside the pipeline block: "' + firstLine(s) +
                    '"; what it brings needs the stack driver')
            } else {
                error(s, 'statement outside the pipeline block: "' + firstLine(s) +
                    '"; Jenkins runs it as script, which needs the stack driver')
            }
        }
        return parsePipelineStep(pst)
    }

    String firstLine(ASTNode n) {
        def text = getSourceText(n)
        def line = text.readLines() ? text.readLines()[0] : text
        return line.length() > 60 ? line.substring(0, 57) + '...' : line
    }

    boolean checkForNestedPipelineStep(Statement statement) {
        def b = matchBlockStatement(statement)
        boolean found = false
        if (b != null) {
            if (b.methodName == 'pipeline') {
                error(statement, 'pipeline block must be at the top-level, not within another block.')
                found = true
            }
            eachStatement(b.body.code) { s -> found = checkForNestedPipelineStep(s) || found }
        }
        return found
    }

    Map parsePipelineStep(Statement pst) {
        def pipelineBlock = matchBlockStatement(pst)
        def sections = [:]
        eachSection(pipelineBlock.body.code, { notASection(it) }) { String name, Statement stmt, mc, seen ->
            switch (name) {
                case 'stages': sections.stages = parseStages(stmt); break
                case 'environment': sections.environment = parseEnvironment(stmt); break
                case 'post': sections.post = parseBuildConditionResponder(stmt); break
                case 'agent': sections.agent = parseAgent(stmt); break
                case 'tools': sections.tools = parseTools(stmt); break
                case 'options': sections.options = parseMethodCallSection(stmt, 'options', 'option', 'Options'); break
                case 'parameters': sections.parameters = parseMethodCallSection(stmt, 'parameters', 'build parameter definition', 'Build parameters'); break
                case 'triggers': sections.triggers = parseMethodCallSection(stmt, 'triggers', 'trigger', 'Triggers'); break
                case 'libraries': sections.libraries = parseLibraries(stmt); break
                case 'properties':
                    error(stmt, 'The \u2018properties\u2019 section has been renamed as of version 0.8. Use \u2018options\u2019 instead.'); break
                case 'wrappers':
                    error(stmt, "The 'wrappers' section has been removed as of version 0.8. Use 'options' instead."); break
                case 'jobProperties':
                    error(stmt, 'The \u2018jobProperties\u2019 section has been renamed as of version 0.7. Use \u2018properties\u2019 instead.'); break
                case 'notifications':
                    error(stmt, 'The \u2018notifications\u2019 section has been removed as of version 0.6. Use \u2018post\u2019 for all post-build actions.'); break
                case 'postBuild':
                    error(stmt, 'The \u2018postBuild\u2019 section has been renamed as of version 0.6. Use \u2018post\u2019 for all post-build actions.'); break
                default:
                    error(stmt, "Undefined section \"${name}\"")
            }
        }
        requireSections(sections, ['stages', 'agent'], pst)  // validateElement(ModelASTPipelineDef)
        // ModelASTPipelineDef.toJSON: elementOpt for each, CheckEmpty for the last four
        def p = [:]
        ['stages', 'post', 'environment', 'agent', 'tools'].each { k ->
            if (sections[k] != null) {
                p[k] = sections[k]
            }
        }
        ['options', 'parameters', 'triggers', 'libraries'].each { k ->
            if (sections[k] != null && !sections[k][k].isEmpty()) {
                p[k] = sections[k]
            }
        }
        return [pipeline: at(p, pst)]
    }

    /** ModelValidatorImpl.RequiredSection, for the sections of ``where`` that are missing. */
    void requireSections(Map sections, List<String> names, ASTNode where) {
        names.findAll { sections[it] == null }.each { error(where, "Missing required section \"${it}\"") }
    }

    /** ``withinParallel``: the stages of a parallel or matrix, and any nested in them. */
    List parseStages(Statement stmt, boolean withinParallel = false) {
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for stages')
            return []
        }
        def stages = eachStatement(m.body.code) { parseStage(it, withinParallel) }.findAll { it != null }
        if (stages.isEmpty() && matchMethodName(m.whole) == 'stages') {
            error(stmt, 'No stages specified')  // ModelValidatorImpl.validateElement(ModelASTStages)
        }
        return stages
    }

    Map parseMatrix(Statement stmt) {
        def m = matchBlockStatement(stmt)
        def f = [:]
        if (m == null) {
            error(stmt, 'Expected a block for matrix')
        } else {
            // ModelParser names the whole matrix block here, not the statement
            eachSection(m.body.code, { notASection(stmt) }) { String name, Statement s, mc, seen ->
                switch (name) {
                    case 'axes': f.axes = parseAxes(s); break
                    case 'excludes': f.excludes = parseExcludes(s); break
                    case 'stages': f.stages = parseStages(s, true); break
                    default:
                        if (!parseStageBaseSection(name, s, f)) {
                            error(s, "Undefined section \"${name}\"")
                        }
                }
            }
        }
        if (m != null) {
            requireSections(f, ['axes', 'stages'], stmt)  // validateElement(ModelASTMatrix)
        }
        // ModelASTMatrix.toJSON: the stage-base fields, then axes, excludes, stages
        def out = stageBaseJson(f)
        ['axes', 'excludes', 'stages'].each { k -> if (f[k] != null) out[k] = f[k] }
        return at(out, stmt)
    }

    /** agent/when/post/options/input/tools/environment, shared by stage and matrix. */
    boolean parseStageBaseSection(String name, Statement s, Map f) {
        switch (name) {
            case 'agent': f.agent = parseAgent(s); return true
            case 'when': f.when = parseWhen(s); return true
            case 'post': f.post = parseBuildConditionResponder(s); return true
            case 'options': f.options = parseMethodCallSection(s, 'options', 'option', 'Options'); return true
            case 'input': f.input = parseInput(s); return true
            case 'tools': f.tools = parseTools(s); return true
            case 'environment': f.environment = parseEnvironment(s); return true
            default: return false
        }
    }

    static Map stageBaseJson(Map f) {
        def out = [:]
        ['agent', 'when', 'post', 'tools', 'environment', 'options', 'input'].each { k ->
            if (f[k] != null) out[k] = f[k]
        }
        return out
    }

    List parseAxes(Statement stmt) {
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for axes')
            return []
        }
        return eachStatement(m.body.code) { parseAxis(it, false) }
    }

    List parseExcludes(Statement stmt) {
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for excludes')
            return []
        }
        return eachStatement(m.body.code) { ex ->
            def em = matchBlockStatement(ex)
            if (em == null) {
                error(ex, 'Expected a block for exclude')
                return at([], ex)
            }
            return at(eachStatement(em.body.code) { parseAxis(it, true) }, ex)
        }
    }

    /** parseAxis and parseExcludeAxis: name, values (notValues: inverse, excludes only). */
    Map parseAxis(Statement stmt, boolean exclude) {
        def out = [name: null, values: []]
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for axis')
            return at(out, stmt)
        }
        eachSection(m.body.code, { notASection(stmt) }) { String name, Statement s, mc, seen ->
            def args = argsOf(mc)
            if (name == 'name') {
                if (args.isEmpty()) {
                    error(s, 'No argument for field "name"')
                } else if (args.size() > 1) {
                    error(s, 'Too many arguments for field "name"')
                } else {
                    out.name = parseStringLiteralOrEmpty(args[0])
                }
            } else if (name == 'values' || (exclude && name == 'notValues')) {
                if (exclude && seen.containsAll(['values', 'notValues'])) {
                    error(s, 'Exclude axis must contain either "values" or "notValues"')
                }
                if (name == 'notValues') {
                    out.inverse = true
                }
                out.values.addAll(parseMethodArgs(mc))
            } else {
                error(s, "Undefined section \"${name}\"")
            }
        }
        if (out.containsKey('inverse')) {  // ModelASTExcludeAxis: name, values, inverse
            def inverse = out.remove('inverse')
            out.inverse = inverse
        }
        return at(out, stmt)
    }

    List parseEnvironment(Statement stmt) {
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for environment')
            return []
        }
        def vars = new LinkedHashMap<String, Map>()
        def nodes = [:]
        boolean errorEncountered = false
        eachStatement(m.body.code) { s ->
            if (s instanceof ExpressionStatement) {
                def exp = s.expression
                if (exp instanceof BinaryExpression && exp.operation.type == Types.EQUAL) {
                    def key = parseKey(exp.leftExpression)
                    if (vars.containsKey(key)) {
                        error(exp.leftExpression, "Duplicate environment variable name: \"${key}\"")
                        return
                    }
                    def rhs = exp.rightExpression
                    if (rhs instanceof ConstantExpression || rhs instanceof GStringExpression) {
                        vars[key] = parseArgument(rhs)
                    } else if (rhs instanceof MethodCallExpression) {
                        vars[key] = parseInternalFunctionCall((MethodCallExpression) rhs)
                    } else if (rhs instanceof BinaryExpression) {
                        if (rhs.operation.type == Types.PLUS) {
                            def v = envValueForStringConcat(rhs)
                            if (v != null) {
                                vars[key] = v
                            }
                        } else {
                            error(rhs, 'Environment variable values can only be joined together with \u2018+\u2019s.')
                        }
                    } else {
                        error(rhs, 'Environment variable values must either be single quoted, double quoted, or function calls.')
                    }
                    nodes[key] = s
                    return
                }
                String src = getSourceText(exp)
                if (src.contains('=')) {
                    error(exp, "\"${src.split('=')[0].trim()}\" is not a valid identifier and cannot be used for an environment variable. Identifiers must start with a letter or underscore and can contain only letters, numbers or underscores.")
                } else {
                    error(exp, "\"${src}\" is not a valid environment expression. Use \"key = value\" pairs with valid Java/shell keys.")
                }
            }
            errorEncountered = true
        }
        if (errorEncountered) {
            error(stmt, 'Expected name=value pairs')
        }
        return vars.collect { k, v -> at([key: k, value: v], nodes[k]) }
    }

    Map envValueForStringConcat(BinaryExpression exp) {
        def builder = new StringBuilder()
        boolean isLiteral = true
        if (exp.leftExpression instanceof BinaryExpression) {
            if (((BinaryExpression) exp.leftExpression).operation.type == Types.PLUS) {
                def nested = envValueForStringConcat((BinaryExpression) exp.leftExpression)
                if (nested == null) {
                    return null
                }
                isLiteral = appendAndIsLiteral(nested, builder) && isLiteral
            } else {
                error(exp.leftExpression, 'Environment variable values can only be joined together with \u2018+\u2019s.')
                return null
            }
        } else if (!envValueFromArbitraryExpression(exp.leftExpression, builder)) {
            isLiteral = false
        }
        if (!envValueFromArbitraryExpression(exp.rightExpression, builder)) {
            isLiteral = false
        }
        return isLiteral ? lit(builder.toString()) : gstring(builder.toString())
    }

    boolean envValueFromArbitraryExpression(Expression e, StringBuilder builder) {
        if (e instanceof ConstantExpression || e instanceof GStringExpression) {
            return appendAndIsLiteral(parseArgument(e), builder)
        }
        error(e, 'Environment variable values to be concatenated together must be single or double quoted.')
        return true
    }

    static boolean appendAndIsLiteral(Map val, StringBuilder builder) {
        if (val == null) {
            return true
        }
        if (!val.isLiteral) {
            builder.append(trimQuotes(val.value.toString()))
        } else {
            builder.append(val.value)
        }
        return val.isLiteral
    }

    static String trimQuotes(String s) {
        if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) {
            return trimQuotes(s[1..-2])
        }
        return s
    }

    Map parseInternalFunctionCall(MethodCallExpression expr) {
        def name = matchMethodName(expr)
        if (name != 'credentials') {
            return parseArgument(expr)
        }
        def out = [name: name, arguments: []]
        argsOf(expr).each { a ->
            if (!(a instanceof ConstantExpression) && !(a instanceof GStringExpression)) {
                error(expr, 'Internal function call parameters must be strings.')
            } else {
                out.arguments << parseArgument(a)
            }
        }
        return out
    }

    Map parseLibraries(Statement stmt) {
        def m = matchBlockStatement(stmt)
        def libs = []
        if (m == null) {
            error(stmt, 'Expected a block for libraries')
            return [libraries: libs]
        }
        eachStatement(m.body.code) { s ->
            def mc = matchMethodCall(s)
            if (mc == null || mc.methodAsString != 'lib') {
                error(s, "Expected a \"lib(...)\" but got ${getSourceText(s)}")
            } else if (matchBlockStatement(s) != null) {
                error(s, 'Libraries definitions cannot have blocks')
            } else {
                def call = parseMethodCall(mc)
                def first = call.arguments ? call.arguments[0] : null
                if (call.arguments.size() != 1 || !(first instanceof Map && first.containsKey('isLiteral'))) {
                    error(s, "Expected a \"lib(...)\" but got ${getSourceText(mc)}")
                } else {
                    libs << at(first, s)
                }
            }
        }
        return [libraries: libs]
    }

    List parseTools(Statement stmt) {
        def m = matchBlockStatement(stmt)
        if (m == null) {
            error(stmt, 'Expected a block for tools')
            return []
        }
        def tools = []
        eachKeyAndValue(m.body.code, 'Expected to find \u2018someTool "someVersion"\u2019', 'tool') { key, arg, s ->
            tools << at([key: key, value: parseArgument(arg)], s)
        }
        return tools
    }

    /** ``key value`` statements (parseTools, parseClosureMap): exactly one value each. */
    void eachKeyAndValue(Statement code, String expected, String what, Closure handle) {
        eachStatement(code) { s ->
            def mc = matchMethodCall(s)
            if (mc == null) {
                error(s, expected)
                return
            }
            def key = parseKey(mc.method)
            def args = argsOf(mc)
            if (args.isEmpty()) {
                error(s, "No argument for ${what} \"${key}\"")
            } else if (args.size() > 1) {
                error(s, "Too many arguments for ${what} \"${key}\"")
            } else {
                handle(key, args[0], s)
            }
        }
    }

    Map parseStage(Statement stmt, boolean withinParallel) {
        def m = matchBlockStatement(stmt)
        if (m?.methodName != 'stage') {
            error(stmt, 'Expected a stage')
            return null
        }
        def nameExp = argumentOf(m, 0)
        if (nameExp == null) {
            error(stmt, 'Expected a stage name but did not find any')
            return null
        }
        def f = [name: parseStringLiteral(nameExp), branches: []]
        def bodyExp = argumentOf(m, 1)
        if (!(bodyExp instanceof ClosureExpression)) {
            error(stmt, 'Stage does not have a block')
        } else {
            def notAStageSection = { ASTNode n ->
                "Not a valid stage section definition: \"${getSourceText(n)}\". Some extra configuration is required."
            }
            eachSection(((ClosureExpression) bodyExp).code, notAStageSection) { String name, Statement s, mc, seen ->
                switch (name) {
                    case 'steps': parseStepsSection(s, f); break
                    case 'parallel': f.parallel = at(parseStages(s, true), s); break
                    case 'matrix': f.matrix = parseMatrix(s); break
                    case 'failFast': f.failFast = parseBooleanMethod(mc); break
                    case 'stages': f.stages = parseStages(s, withinParallel); break
                    default:
                        if (!parseStageBaseSection(name, s, f)) {
                            error(s, "Unknown stage section \"${name}\". Starting with version 0.5, steps in a stage must be in a \u2018steps\u2019 block.")
                        }
                }
            }
        }
        if (bodyExp instanceof ClosureExpression) {
            validateStage(f, stmt, withinParallel)
        }
        // ModelASTStage.toJSON: stage-base fields, name, stages, parallel, matrix, branches, failFast
        def out = stageBaseJson(f)
        out.name = f.name
        ['stages', 'parallel', 'matrix'].each { k -> if (f[k] != null) out[k] = f[k] }
        if (f.branches) {
            out.branches = f.branches
        }
        if (f.failFast != null) {
            out.failFast = f.failFast
        }
        return at(out, stmt)
    }

    /**
     * The checks of ModelValidatorImpl.validateElement(ModelASTStage, isWithinParallel) that
     * need no descriptors (pipeline-model-definition/src/main/groovy/org/jenkinsci/plugins/
     * pipeline/modeldefinition/validator/ModelValidatorImpl.groovy at 42c9dc3e).
     */
    void validateStage(Map f, Statement stmt, boolean withinParallel) {
        int count = ['branches', 'parallel', 'matrix', 'stages'].count { f[it] }
        if (withinParallel && (f.branches.size() > 1 || f.parallel != null || f.matrix != null)) {
            error(stmt, '"matrix" or "parallel" cannot be nested inside another "matrix" or "parallel".')
        } else if (count > 1) {
            error(stmt, "Only one of \"matrix\", \"parallel\", \"stages\", or \"steps\" allowed for stage \"${f.name}\"")
        } else if (count == 0 && f.stages == null) {
            error(stmt, "Expected one of \"steps\", \"stages\", or \"parallel\" for stage \"${f.name}\"")
        } else if (f.parallel != null || f.matrix != null) {
            ['agent', 'tools'].each { k ->
                if (f[k] != null) {
                    error(stmt, "\"${k}\" is not allowed in stage \"${f.name}\" as it contains parallel or matrix stages")
                }
            }
        }
    }

    void parseStepsSection(Statement s, Map f) {
        def stepsBlock = matchBlockStatement(s)
        if (stepsBlock == null) {
            error(s, 'Expected a block for steps')
            return
        }
        BlockStatement block = asBlock(stepsBlock.body.code)
        def parallel = block.statements.size() == 1 ? matchParallel(block.statements[0]) : null
        if (parallel != null) {  // the legacy `parallel a: {...}, b: {...}` inside steps
            parallel.args.each { k, v -> f.branches << parseBranch(k, asBlock(v.code), v) }
            f.failFast = parallel.failFast
        } else {
            f.branches << parseBranch('default', block, s)
        }
    }

    Map matchParallel(Statement st) {
        def whole = matchMethodCall(st)
        if (whole == null || matchMethodName(whole) != 'parallel') {
            return null
        }
        def args = argsOf(whole)
        Boolean failFast = null
        def branches = new LinkedHashMap<String, ClosureExpression>()
        if (args.size() == 1 && args[0] instanceof NamedArgumentListExpression) {
            ((NamedArgumentListExpression) args[0]).mapEntryExpressions.each { e ->
                String keyName = matchStringLiteral(e.keyExpression)
                if (keyName == 'failFast') {
                    def exp = e.valueExpression
                    if (!(exp instanceof ConstantExpression) || !(exp.value instanceof Boolean)) {
                        error(e.keyExpression, 'Expected a boolean with failFast')
                    } else {
                        failFast = (Boolean) exp.value
                    }
                } else if (!(e.valueExpression instanceof ClosureExpression)) {
                    error(e.keyExpression, 'Expected closure or failFast')
                } else {
                    branches[parseStringLiteral(e.keyExpression)] = (ClosureExpression) e.valueExpression
                }
            }
        }
        return [args: branches, failFast: failFast]
    }

    Map parseInput(Statement statement) {
        def m = matchBlockStatement(statement)
        def f = [:]
        if (m == null) {
            error(statement, 'Expected a block for input')
        } else {
            eachSection(m.body.code, { notASection(it) }) { String name, Statement s, mc, seen ->
                def args = argsOf(mc)
                if (args.isEmpty()) {
                    error(mc.method, "No argument for field \"${name}\"")
                } else if (args.size() > 1) {
                    error(mc.method, "Too many arguments for field \"${name}\"")
                } else if (name in ['message', 'id', 'ok', 'submitter', 'submitterParameter']) {
                    f[name] = parseArgument(args[0])
                } else if (name == 'parameters') {
                    f.parameters = parseMethodCallSection(s, 'parameters', 'build parameter definition', 'Build parameters')
                } else {
                    error(mc.method, "Not a valid field for input: \"${name}\"")
                }
            }
        }
        // ModelASTStageInput.toJSON: message always, then the rest when set
        def out = [message: f.message]
        ['id', 'ok', 'submitter', 'submitterParameter'].each { k -> if (f[k] != null) out[k] = f[k] }
        if (f.parameters != null && !f.parameters.parameters.isEmpty()) {
            out.parameters = f.parameters
        }
        return at(out, statement)
    }

    Map parseWhen(Statement statement) {
        def block = matchBlockStatement(statement)
        def out = [conditions: []]
        if (block == null) {
            error(statement, 'Expected a block for when')
            return at(out, statement)
        }
        def flags = [:]
        asBlock(block.body.code).statements.each { s ->
            def mc = matchMethodCall(s)
            if (mc == null) {
                error(s, 'Expected a when condition')
                return
            }
            def name = parseMethodName(mc)
            if (name in ['beforeAgent', 'beforeInput', 'beforeOptions']) {
                flags[name] = parseBooleanMethod(mc)
            } else {
                out.conditions << parseWhenContent(s)
            }
        }
        ['beforeAgent', 'beforeInput', 'beforeOptions'].each { k -> if (flags[k] != null) out[k] = flags[k] }
        return at(out, statement)
    }

    Map parseWhenContent(Statement st) {
        def mc = matchMethodCall(st)
        if (mc == null) {
            error(st, 'Expected a when condition')
            return at([name: null], st)
        }
        def name = parseMethodName(mc)
        if (name == 'expression') {
            return parseCodeBlock(st, 'expression', 'When')
        }
        def args = argsOf(mc)
        def bs = matchBlockStatement(st)
        def out = [name: name]
        if (bs != null) {
            args = args.subList(0, args.size() - 1)
            if (!args.isEmpty()) {
                out.arguments = parseArgumentList(args).json
            }
            def children = eachStatement(bs.body.code) { parseWhenContent(it) }
            if (children) {
                out.children = children
            }
        } else {
            out.arguments = parseArgumentList(args).json
        }
        return at(out, st)
    }

    Map parseBranch(String name, BlockStatement body, ASTNode where) {
        return at([name: name, steps: body.statements.collect { parseStep(it) }], where)
    }

    Map parseStep(Statement st) {
        def mc = matchMethodCall(st)
        if (mc == null) {
            error(st, 'Expected a step')
            return at([name: null], st)
        }
        def stepName = parseMethodName(mc)
        if (stepName == 'script') {
            return parseCodeBlock(st, 'script', 'Script')
        } else if (stepName == 'expression') {
            return parseCodeBlock(st, 'expression', 'When')
        }
        def args = argsOf(mc)
        def bs = matchBlockStatement(st)
        if (bs != null) {  // ModelASTTreeStep: name, arguments, children
            def list = parseArgumentList(args.subList(0, args.size() - 1))
            def children = eachStatement(bs.body.code) { parseStep(it) }
            return at([name: stepName, arguments: list.json, children: children], st)
        }
        def list = parseArgumentList(args)
        def param = SOLE_REQUIRED[stepName]
        if (list.kind == 'single' && param != null) {
            list = [kind: 'named', json: [[key: param, value: list.json]]]
        }
        return at([name: stepName, arguments: list.json], st)
    }

    /** parseScriptBlock / parseWhenExpression: the block's source as a literal scriptBlock. */
    Map parseCodeBlock(Statement st, String name, String pronoun) {
        def bs = matchBlockStatement(st)
        def out = [name: name]
        if (bs != null) {
            out.arguments = [[key: 'scriptBlock', value: lit(getSourceText(bs.body.code))]]
        } else {
            error(st, "${pronoun} step without a block")
        }
        return at(out, st)
    }

    Map parseAgent(Statement st) {
        def m = matchBlockStatement(st)
        def mc = matchMethodCall(st)
        String type = null
        def variables = null
        if (m == null) {
            if (mc == null) {
                error(st, 'Expected an agent')
            } else {
                def args = argsOf(mc)
                if (args.isEmpty()) {
                    error(st, 'No argument for agent')
                } else if (args.size() > 1) {
                    error(st, 'Only "agent none", "agent any" or "agent {...}" are allowed.')
                } else {
                    def code = parseKey(args[0])
                    if (!(code in ZERO_ARG_AGENTS)) {
                        error(st, 'Only "agent none", "agent any" or "agent {...}" are allowed.')
                    } else {
                        type = code
                    }
                }
            }
        } else {
            def block = asBlock(m.body.code)
            if (block.statements.isEmpty()) {
                error(st, 'Expected an agent')
            } else if (block.statements.size() > 1) {
                error(st, 'Only one agent type is allowed per agent section')
            } else {
                def typeMeth = matchMethodCall(block.statements[0])
                if (typeMeth == null) {
                    error(st, 'Expected an agent')
                } else {
                    type = parseKey(typeMeth.method)
                    variables = parseClosureMap(m.body)[type]
                    // JENKINS-41118: label with a block is "node"
                    if (type == 'label' && variables instanceof List) {
                        type = 'node'
                    }
                }
            }
        }
        // ModelASTAgent.toJSON (JENKINS-43016: an empty label is agent any)
        def out = [type: type]
        if (isEmptyStringLabelAgent(type, variables)) {
            out = [type: 'any']
        } else if (variables instanceof List) {
            if (variables) {
                out.arguments = variables
            }
        } else if (variables != null) {
            out.argument = variables
        }
        return at(out, st)
    }

    static boolean isEmptyStringLabelAgent(String type, def variables) {
        if (type != 'label' && type != 'node') {
            return false
        }
        if (variables instanceof Map) {
            return variables.value == ''
        }
        if (variables instanceof List && variables.size() == 1) {
            def entry = variables[0]
            return entry.key == 'label' && entry.value instanceof Map && entry.value.value == ''
        }
        return false
    }

    /** ModelASTClosureMap: [key: value-or-nested-list] in order; JSON [{key, value}]. */
    Map parseClosureMap(ClosureExpression expression) {
        def map = new LinkedHashMap<String, Object>()
        eachKeyAndValue(expression.code, 'Expected to find \u2018someKey "someValue"\u2019', 'map key') { k, arg, s ->
            if (arg instanceof ClosureExpression) {
                map[k] = parseClosureMap((ClosureExpression) arg).collect { key, v -> [key: key, value: v] }
            } else {
                map[k] = parseArgument(arg)
            }
        }
        return map
    }

    Map parseBuildConditionResponder(Statement stmt) {
        def m = matchBlockStatement(stmt)
        def conditions = []
        if (m == null) {
            error(stmt, 'Expected a block')
        } else {
            eachStatement(m.body.code) { s ->
                def bm = matchBlockStatement(s)
                if (bm == null) {
                    error(s, "The \u2018post\u2019 section can only contain build condition names with code blocks. Valid condition names are ${BUILD_CONDITIONS}")
                } else {
                    if (!(bm.methodName in BUILD_CONDITIONS)) {  // ModelValidatorImpl, as above
                        error(s, "Invalid condition \"${bm.methodName}\" - valid conditions are ${BUILD_CONDITIONS}")
                    }
                    def branch = parseBranch('default', asBlock(bm.body.code), s)
                    conditions << at([condition: bm.methodName, branch: branch], s)
                }
            }
        }
        return at([conditions: conditions], stmt)
    }

    /** options / parameters / triggers: {section: [methodCall...]} (ModelASTOption etc.). */
    Map parseMethodCallSection(Statement stmt, String section, String what, String plural) {
        def m = matchBlockStatement(stmt)
        def items = []
        if (m == null) {
            error(stmt, "Expected a block for ${section}")
            return at([(section): items], stmt)
        }
        eachStatement(m.body.code) { s ->
            def mc = matchMethodCall(s)
            if (mc == null) {
                if (s instanceof ExpressionStatement && s.expression instanceof MapExpression) {
                    error(s, "${plural} cannot be defined as maps")
                } else {
                    error(s, "Expected ${what.startsWith('o') ? 'an' : 'a'} ${what}")
                }
            } else if (matchBlockStatement(s) != null) {
                error(s, "${plural} definitions cannot have blocks")
            } else {
                items << at(parseMethodCall(mc), s)
            }
        }
        return at([(section): items], stmt)
    }
}

/** Fill ``out`` with pointer -> line for every JSON value the extractor located. */
void locate(Object node, String pointer, IdentityHashMap<Object, Integer> lines, Map<String, Integer> out) {
    if (lines.containsKey(node)) {
        out[pointer] = lines.get(node)
    }
    if (node instanceof Map) {
        node.each { k, v -> locate(v, pointer + '/' + k.toString().replace('~', '~0').replace('/', '~1'), lines, out) }
    } else if (node instanceof List) {
        node.eachWithIndex { v, i -> locate(v, pointer + '/' + i, lines, out) }
    }
}

Map extract(String path) {
    def config = new CompilerConfiguration()
    config.sourceEncoding = 'UTF-8'
    def unit = new CompilationUnit(config)
    SourceUnit su = unit.addSource(new File(path))
    def problems = []
    try {
        unit.compile(Phases.CONVERSION)
    } catch (MultipleCompilationErrorsException e) {
        e.errorCollector.errors.each { m ->
            if (m instanceof SyntaxErrorMessage) {
                def c = m.cause
                problems << [line: c.line, column: c.startColumn, message: c.originalMessage]
            } else if (m instanceof ExceptionMessage) {
                problems << [line: 0, column: 0, message: String.valueOf(m.cause)]
            } else {
                def w = new StringWriter()
                m.write(new PrintWriter(w))
                problems << [line: 0, column: 0, message: w.toString().trim()]
            }
        }
        return [pipeline: null, locations: [:], problems: problems]
    }
    def x = new Extractor(su)
    def doc = x.parse(su.AST.statementBlock.statements)
    def locations = [:]
    if (doc != null) {
        locate(doc, '', x.lines, locations)
    }
    return [pipeline: doc, locations: locations, problems: x.problems]
}

System.in.newReader('UTF-8').eachLine { String path ->
    if (!path) {
        return
    }
    def record
    try {
        record = extract(path)
    } catch (Exception e) {
        record = [pipeline: null, locations: [:], problems: [[line: 0, column: 0, message: e.toString()]]]
    }
    println JsonOutput.toJson([path: path, done: true] + record)
    System.out.flush()
}
