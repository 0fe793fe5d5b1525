// Creates ACLs with Kafka's own Admin client (aiokafka speaks only the CreateAcls versions
// Kafka 4 removed). One binding per line on stdin, allowed from any host:
//   <principal> <resource type> <resource name> <pattern type> <operation>
//   User:kintsugi-router TOPIC kintsugi.complaint-events.v1 LITERAL READ
// Usage (Java 11+ runs the source file as it is):
//   java -cp 'tools/kafka/target/dependency/*' tools/kafka/CreateAcls.java client.properties
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class CreateAcls {
  public static void main(String[] args) throws Exception {
    Properties client = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      client.load(in);
    }
    List<AclBinding> bindings = new ArrayList<>();
    BufferedReader lines = new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = lines.readLine()) != null; ) {
      String[] f = line.strip().split("\\s+");
      if (f.length != 5) {
        throw new IllegalArgumentException("want 5 fields, got: " + line);
      }
      ResourcePattern resource =
          new ResourcePattern(ResourceType.valueOf(f[1]), f[2], PatternType.valueOf(f[3]));
      AccessControlEntry entry =
          new AccessControlEntry(f[0], "*", AclOperation.valueOf(f[4]), AclPermissionType.ALLOW);
      bindings.add(new AclBinding(resource, entry));
    }
    try (Admin admin = Admin.create(client)) {
      admin.createAcls(bindings).all().get();
    }
    System.out.println("created " + bindings.size() + " ACLs");
  }
}
