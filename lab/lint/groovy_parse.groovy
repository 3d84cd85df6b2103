// Syntax-only parse of Groovy files for lab.groovy: one JVM for many files.
// Reads one absolute path per line on stdin; for each file prints one JSON object per
// problem ({"path","line","column","message"}) then {"path","done":true}.
// Compiles to the CONVERSION phase only (source -> AST): no class or method resolution,
// so Jenkinsfiles and Job DSL scripts that call steps nobody declares still parse.
import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.messages.ExceptionMessage
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

def emit = { String path, int line, int col, String msg ->
    println JsonOutput.toJson([path: path, line: line, column: col, message: msg])
}

System.in.newReader('UTF-8').eachLine { String path ->
    if (!path) {
        return
    }
    try {
        def config = new CompilerConfiguration()
        config.sourceEncoding = 'UTF-8'
        def unit = new CompilationUnit(config)
        unit.addSource(new File(path))
        unit.compile(Phases.CONVERSION)
    } catch (MultipleCompilationErrorsException e) {
        e.errorCollector.errors.each { m ->
            if (m instanceof SyntaxErrorMessage) {
                def c = m.cause
                emit(path, c.line, c.startColumn, c.originalMessage)
            } else if (m instanceof ExceptionMessage) {
                emit(path, 0, 0, String.valueOf(m.cause))
            } else {
                def w = new StringWriter()
                m.write(new PrintWriter(w))
                emit(path, 0, 0, w.toString().trim())
            }
        }
    } catch (Exception e) {
        emit(path, 0, 0, e.toString())
    }
    println JsonOutput.toJson([path: path, done: true])
    System.out.flush()
}
